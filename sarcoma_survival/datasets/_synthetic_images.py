"""Rendering of one synthetic patient's MRI: T1 post-contrast, T2 fat-sat and the
tumor mask, as SimpleITK images with physical geometry.

Every tissue is a function of *physical* coordinates (millimeters), so the T1 and
the T2 images, which sit on different grids, show the same anatomy. The model is
described in the module docstring of :mod:`sarcoma_survival.datasets._synthetic`.
"""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy.ndimage import gaussian_filter

#: Slice spacing over in-plane spacing of the T1 grid.
T1_SLICE_RATIO = 3.0

#: Tissue intensities (arbitrary scanner units) before bias field and noise.
#: Order: air, fat, muscle, bone cortex, marrow, viable tumor, enhancing rim, necrosis.
_TISSUES = ("air", "fat", "muscle", "cortex", "marrow", "viable", "rim", "necrosis")
T1_INTENSITY = {"air": 0.0, "fat": 900.0, "muscle": 380.0, "cortex": 40.0, "marrow": 850.0,
                "viable": 600.0, "rim": 830.0, "necrosis": 210.0}
T2_INTENSITY = {"air": 0.0, "fat": 110.0, "muscle": 200.0, "cortex": 30.0, "marrow": 140.0,
                "viable": 640.0, "rim": 560.0, "necrosis": 1050.0}
NOISE_SD = {"t1": 14.0, "t2": 14.0}


def _rotation(axis, degrees):
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    if axis == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _sphere_directions(n):
    """Quasi-uniform unit vectors (Fibonacci sphere), shape (n, 3)."""
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5**0.5) * k
    r = np.sqrt(1.0 - z**2)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


class _FourierField:
    """Smooth random field (unit variance) as a sum of random cosines.

    The length scale ``scale`` is in the units of the coordinates it is evaluated on.
    """

    def __init__(self, rng, scale, n_modes=24):
        self.omega = rng.normal(0.0, 1.0 / scale, size=(n_modes, 3))
        self.phase = rng.uniform(0.0, 2 * np.pi, size=n_modes)
        self.norm = np.sqrt(2.0 / n_modes)

    def __call__(self, points):
        if len(points) == 0:
            return np.zeros(0)
        return self.norm * np.cos(points @ self.omega.T + self.phase).sum(axis=-1)


class _Grid:
    """A 3D voxel grid: size (x, y, z), spacing, origin, direction (3x3)."""

    def __init__(self, size, spacing, origin, direction):
        self.size = tuple(int(s) for s in size)
        self.spacing = np.asarray(spacing, dtype=float)
        self.origin = np.asarray(origin, dtype=float)
        self.direction = np.asarray(direction, dtype=float)

    def points(self):
        """Physical coordinates of voxel centers, shape (z, y, x, 3)."""
        k, j, i = np.meshgrid(*(np.arange(n) for n in self.size[::-1]), indexing="ij")
        index = np.stack([i, j, k], axis=-1) * self.spacing
        return index @ self.direction.T + self.origin

    def image(self, array, pixel_type):
        image = sitk.GetImageFromArray(array)
        image = sitk.Cast(image, pixel_type)
        image.SetSpacing(tuple(float(s) for s in self.spacing))
        image.SetOrigin(tuple(float(o) for o in self.origin))
        image.SetDirection(tuple(float(d) for d in self.direction.ravel()))
        return image


class _Phantom:
    """The physical anatomy of one patient (limb, bone, tumor with necrosis)."""

    def __init__(self, clinical, latent, rng):
        size_mm = float(clinical["tumor_size_cm"]) * 10.0
        half = size_mm / 2.0
        self.semi_axes = np.array([half * latent["axis_ratio_x"], half * latent["axis_ratio_y"], half])
        # long axis roughly along the limb (z), tilted by up to 12 degrees
        self.rotation = _rotation(0, rng.uniform(-12, 12)) @ _rotation(1, rng.uniform(-12, 12)) @ _rotation(
            2, rng.uniform(0, 360)
        )
        self.center = np.zeros(3)
        r_xy = float(max(self.semi_axes[:2]))
        self.r_xy = r_xy
        theta = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(theta), np.sin(theta), 0.0])
        self.limb_semi = np.array([2.2 * r_xy, 2.2 * r_xy * rng.uniform(0.85, 1.0)])
        deep = clinical["_deep"]
        offset = 0.8 * r_xy if deep else 0.94 * self.limb_semi.min()
        self.limb_center = -offset * direction
        self.bone_center = self.limb_center - 0.7 * r_xy * direction
        self.bone_radius = 0.25 * r_xy
        self.lobulation = _FourierField(rng, scale=0.5, n_modes=12)
        self.lobulation_amplitude = 0.05
        # normalize the lobulated boundary so that it encloses the ellipsoid's volume
        directions = _sphere_directions(2000)
        radii = 1.0 + self.lobulation_amplitude * self.lobulation(directions * 1.5)
        self.boundary_scale = float(np.mean(radii**3)) ** (-1.0 / 3.0)
        self.texture = _FourierField(rng, scale=0.25)
        self.texture_amplitude = float(latent["texture_amplitude"])
        self.rim = float(latent["rim_thickness"])
        self.enhancement = float(latent["enhancement"])
        scatter = float(latent["scatter"])
        self.scatter = scatter
        # necrosis field: a central bowl (compact core) mixed with a random field whose
        # length scale shrinks as the necrosis scatters into foci
        self.necrosis_noise = _FourierField(rng, scale=0.55 - 0.3 * scatter)
        self.necrotic_fraction = float(latent["necrotic_fraction"])
        self.necrosis_threshold = None

    def tumor_coords(self, points):
        """Normalized tumor coordinates (unit sphere = unlobulated boundary)."""
        return ((points - self.center) @ self.rotation) / self.semi_axes

    def boundary(self, u, rho):
        """Normalized radius of the lobulated boundary in the direction of ``u``."""
        unit = u / np.maximum(rho, 1e-9)[..., None]
        return (1.0 + self.lobulation_amplitude * self.lobulation(unit * 1.5)) * self.boundary_scale

    def necrosis_field(self, u, rho):
        return -(1.0 - self.scatter) * 2.0 * rho**2 + self.scatter * self.necrosis_noise(u)

    def labels(self, points, *, fix_threshold=False):
        """Tissue label index per point and the tumor mask."""
        shape = points.shape[:-1]
        label = np.zeros(shape, dtype=np.int8)
        d_limb = (((points[..., :2] - self.limb_center[:2]) / self.limb_semi) ** 2).sum(-1)
        label[d_limb <= 1.0] = 1
        label[d_limb <= 0.88**2] = 2
        d_bone = np.linalg.norm(points[..., :2] - self.bone_center[:2], axis=-1)
        label[d_bone <= self.bone_radius] = 3
        label[d_bone <= 0.6 * self.bone_radius] = 4
        u = self.tumor_coords(points)
        rho = np.linalg.norm(u, axis=-1)
        # the lobulated boundary stays within [0.7, 1.35] (field amplitude is bounded):
        # evaluate the smooth fields only near and inside the tumor
        near = np.flatnonzero(rho.ravel() <= 1.35)
        u_near, rho_near = u.reshape(-1, 3)[near], rho.ravel()[near]
        boundary = self.boundary(u_near, rho_near)
        inside = rho_near <= boundary
        tumor = np.zeros(rho.size, dtype=bool)
        tumor[near[inside]] = True
        flat = label.ravel()
        flat[near[inside]] = 5
        flat[near[inside & (rho_near >= (1.0 - self.rim) * boundary)]] = 6
        candidate = inside & (rho_near <= 0.85 * boundary)
        field = self.necrosis_field(u_near[candidate], rho_near[candidate])
        if fix_threshold:
            values = np.sort(field)[::-1]
            k = int(round(self.necrotic_fraction * inside.sum()))
            k = min(max(k, 1), len(values))
            self.necrosis_threshold = values[k - 1] if len(values) else np.inf
        flat[near[candidate][field >= self.necrosis_threshold]] = 7
        return flat.reshape(shape), tumor.reshape(shape), u

    def render(self, grid, sequence, rng, *, fix_threshold=False, necrosis_contrast=1.0):
        points = grid.points()
        label, tumor, u = self.labels(points, fix_threshold=fix_threshold)
        table = T1_INTENSITY if sequence == "t1" else T2_INTENSITY
        if necrosis_contrast != 1.0:  # necrosis moved toward viable tumor; 1 keeps the table as is
            table = {**table, "necrosis": table["viable"] + necrosis_contrast * (table["necrosis"] - table["viable"])}
        lut = np.array([table[t] for t in _TISSUES])
        image = lut[label]
        viable = (label == 5) | (label == 6)
        factor = self.enhancement if sequence == "t1" else 1.0
        image[viable] *= factor * (1.0 + self.texture_amplitude * self.texture(u[viable]))
        # point-spread: slight blur in voxel units (z, y, x)
        image = gaussian_filter(image, sigma=(0.35, 0.6, 0.6))
        # smooth multiplicative bias field (quadratic in physical coordinates)
        span = np.abs(points).max() + 1e-9
        q = points / span
        c = rng.normal(0.0, 0.12, size=6)
        log_bias = (q[..., 0] * c[0] + q[..., 1] * c[1] + q[..., 2] * c[2] + c[3] * q[..., 0] ** 2
                    + c[4] * q[..., 1] ** 2 + c[5] * q[..., 0] * q[..., 1])
        image *= np.exp(log_bias)
        # Rician noise (magnitude image)
        sd = NOISE_SD[sequence]
        image = np.hypot(image + rng.normal(0.0, sd, image.shape), rng.normal(0.0, sd, image.shape))
        return np.clip(np.rint(image), 0, 32767).astype(np.int16), tumor


def _t1_grid(phantom, image_size, rng):
    n_xy = int(image_size)
    n_z = max(4, int(round(n_xy / T1_SLICE_RATIO)))
    # field of view: cubic, enclosing the tumor with a margin
    extent = np.abs(phantom.rotation * phantom.semi_axes).sum(axis=1)  # half-extents of the tilted box
    fov = max(2.0 * 2.0 * phantom.r_xy, 2.0 * 1.25 * extent.max(), 2.0 * 1.3 * extent[:2].max())
    s_xy = fov / n_xy
    spacing = np.array([s_xy, s_xy, fov / n_z])
    size = np.array([n_xy, n_xy, n_z])
    jitter = rng.uniform(-0.05, 0.05, 3) * fov
    origin = -spacing * (size - 1) / 2.0 + jitter
    return _Grid(size, spacing, origin, np.eye(3))


def _t2_grid(t1, rng):
    """T2 on its own grid: other spacing, origin and a slight rotation about x."""
    fov = t1.spacing * np.array(t1.size)
    spacing = t1.spacing * np.array([1.15, 1.15, 0.9])
    size = np.maximum(np.round(fov / spacing).astype(int), 4)
    direction = _rotation(0, rng.uniform(1.0, 3.0) * rng.choice([-1, 1]))
    center = t1.origin + t1.spacing * (np.array(t1.size) - 1) / 2.0 + rng.uniform(-2.0, 2.0, 3)
    origin = center - direction @ (spacing * (size - 1) / 2.0)
    return _Grid(size, spacing, origin, direction)


def render_patient(clinical, latent, image_size, *, necrosis_contrast=1.0):
    """Render T1, T2 and mask of one patient.

    Parameters
    ----------
    clinical : mapping
        The patient's true clinical values (``tumor_size_cm`` and ``_deep``: bool).
    latent : mapping
        The patient's row of the latent table (shape, necrosis, nuisance, seed).
    image_size : int
        In-plane matrix of the T1 grid.
    necrosis_contrast : float, default=1.0
        Intensity difference between necrosis and viable tumor, as a fraction of the
        default one (on T1 and T2); 0 makes necrosis look like viable tumor.

    Returns
    -------
    t1, t2, mask : SimpleITK.Image
        ``t1`` and ``t2`` int16, ``mask`` uint8 on the T1 grid.
    """
    rng = np.random.default_rng(int(latent["render_seed"]))
    phantom = _Phantom(clinical, latent, rng)
    grid1 = _t1_grid(phantom, image_size, rng)
    grid2 = _t2_grid(grid1, rng)
    t1, tumor = phantom.render(grid1, "t1", rng, fix_threshold=True, necrosis_contrast=necrosis_contrast)
    t2, _ = phantom.render(grid2, "t2", rng, necrosis_contrast=necrosis_contrast)
    return (
        grid1.image(t1, sitk.sitkInt16),
        grid2.image(t2, sitk.sitkInt16),
        grid1.image(tumor.astype(np.uint8), sitk.sitkUInt8),
    )
