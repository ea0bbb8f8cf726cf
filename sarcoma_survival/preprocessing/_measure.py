"""Tumour measurements from a mask: largest 3D diameter and volume, in physical units."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist

from ..utils import fill_doc
from ._io import _where, binary_mask_array, read_image

#: How :func:`tumor_largest_diameter_cm` places the end points of a diameter.
DIAMETER_CONVENTIONS = ("centers", "corners")

# the 8 corners of a voxel, in voxel units around its centre (x, y, z)
_CORNERS = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])


def _mask_voxels(mask, label, patient):
    """(boolean (z, y, x) array, image) of a mask given as an image or a path."""
    if isinstance(mask, sitk.Image):
        image, where = mask, _where(patient, "mask", "<image>") if patient is not None else "mask"
        if image.GetDimension() != 3:
            raise ValueError(f"{where}: expected a 3D mask image, got {image.GetDimension()}D")
    elif isinstance(mask, (str, Path)):
        image = read_image(mask, patient=patient, column="mask", pixel_type=None)
        where = _where(patient, "mask", mask)
    else:
        raise TypeError(f"mask must be a SimpleITK image or a path, got {type(mask).__name__}")
    return binary_mask_array(image, label=label, where=where), image


def _max_distance(points, block=1024):
    """Largest Euclidean distance between two rows of ``points``, in bounded memory."""
    best = 0.0
    for start in range(0, len(points), block):
        best = max(best, float(cdist(points[start:start + block], points[start:], "sqeuclidean").max()))
    return best ** 0.5


def _hull_vertices(points):
    """The vertices of the convex hull of ``points`` (all points when they are flat or few)."""
    if len(points) <= 4:
        return points
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:  # coplanar or collinear (a one-slice mask): every point stays a candidate
        return points


#: The docstring entries that both measurements share.
_MASK_DOCS = {
    "label_patient": """    label : int, optional
        Tumour label of a multi-label image; ``None`` requires a binary mask.
    patient : str, optional
        Used only in error messages.
""",
    "raises": """    Raises
    ------
    ImageReadError
        Unreadable file, non-binary mask without ``label``, empty mask.
""",
}


@fill_doc(**_MASK_DOCS)
def tumor_largest_diameter_cm(mask, *, convention="centers", label=None, patient=None):
    """Largest 3D diameter of a tumour mask, in cm, in physical space.

    The largest distance between two points of the tumour, measured in any direction
    (not only in the axial plane), with the mask's voxel spacing and direction. It is
    found on the convex hull of the mask's border voxels, then over the pairs of hull
    vertices, so it takes a fraction of a second even for tumours of a million voxels.

    Parameters
    ----------
    mask : SimpleITK.Image or str or Path
        Label image (non-zero = tumour), or a NIfTI/NRRD/MHA file or DICOM series folder
        read with :func:`read_image` (and its reader policy). A DICOM RTSTRUCT or SEG has
        no grid of its own: rasterise it first with
        ``sarcoma_survival.preprocessing.read_mask`` on its image.
    convention : {"centers", "corners"}, default="centers"
        ``"centers"``: between the centres of the two farthest tumour voxels (the
        distance a ruler placed on voxel centres gives; one voxel shorter than the
        voxelised tumour along an axis). ``"corners"``: the exact diameter of the
        voxelised tumour (the union of its voxel boxes), between outer voxel corners;
        longer than ``"centers"`` by at most one voxel diagonal. The true boundary lies
        between the two.
    <label_patient>

    Returns
    -------
    float
        Diameter in cm (spacing read as mm, as DICOM, NIfTI and SimpleITK use).
        ``"centers"`` gives 0.0 for a single voxel.

    <raises>

    See Also
    --------
    tumor_volume_cm3

    Notes
    -----
    ``tumor_size_cm`` of the cohort schema is the largest diameter. Sarculator and the
    AJCC T categories (5, 10, 15 cm) use the **pathological** size: the largest
    dimension of the resected specimen, measured after any neoadjuvant treatment and
    on fixed tissue, reported in the pathology report. An **imaging** size measured on
    the pre-treatment MRI, by a radiologist or by this function on the tumour contour,
    is a different measurement: it excludes nothing the contour includes (a
    pseudocapsule, necrosis) and includes nothing it excludes (oedema, infiltrative
    margins), and it is taken before any shrinkage. A cohort should use one source for
    every patient and say which; a model trained on pathological sizes applied to
    imaging sizes shifts its inputs.

    Examples
    --------
    >>> import numpy as np, SimpleITK as sitk
    >>> from sarcoma_survival.preprocessing import tumor_largest_diameter_cm
    >>> a = np.zeros((5, 6, 7), np.uint8); a[1:4, 1:5, 1:6] = 1   # 5 x 4 x 3 voxels (x, y, z)
    >>> m = sitk.GetImageFromArray(a); m.SetSpacing((2.0, 1.0, 4.0))
    >>> round(tumor_largest_diameter_cm(m), 4)   # centres: sqrt(8**2 + 3**2 + 8**2) mm
    1.1705
    >>> round(tumor_largest_diameter_cm(m, convention="corners"), 4)   # sqrt(10**2 + 4**2 + 12**2) mm
    1.6125
    """
    if convention not in DIAMETER_CONVENTIONS:
        raise ValueError(f"convention must be one of {DIAMETER_CONVENTIONS}, got {convention!r}")
    inside, image = _mask_voxels(mask, label, patient)
    border = inside & ~ndimage.binary_erosion(inside)
    index = np.argwhere(border)[:, ::-1].astype(float)  # (z, y, x) -> (x, y, z)
    candidates = _hull_vertices(index)
    if convention == "corners":  # the hull of the voxel boxes: hull vertices + box corners
        candidates = _hull_vertices((candidates[:, None, :] + _CORNERS[None]).reshape(-1, 3))
    # an affine map keeps the hull's vertices: measure them in physical space (mm)
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    points = (candidates * np.asarray(image.GetSpacing(), dtype=float)) @ direction.T
    return _max_distance(points) / 10.0


@fill_doc(**_MASK_DOCS)
def tumor_volume_cm3(mask, *, label=None, patient=None):
    """Volume of a tumour mask, in cm³: its number of voxels times the voxel volume.

    Parameters
    ----------
    mask : SimpleITK.Image or str or Path
        Label image (non-zero = tumour), or a NIfTI/NRRD/MHA file or DICOM series folder
        read with :func:`read_image`. Rasterise an RTSTRUCT or SEG first with
        ``sarcoma_survival.preprocessing.read_mask``.
    <label_patient>

    Returns
    -------
    float
        Volume in cm³ (spacing read as mm).

    <raises>

    See Also
    --------
    tumor_largest_diameter_cm

    Notes
    -----
    This is the volume of the contour as drawn, voxel by voxel. Reports without a
    contour often give an **ellipsoid** volume instead, π/6 × length × width × height
    from three orthogonal diameters, which assumes the tumour is an ellipsoid; for
    lobulated or irregular sarcomas the two differ, so ``tumor_volume_cm3`` of one
    cohort should come from one method. Partial-volume voxels count whole: a coarse grid
    (the 3.27 mm slices of the TCIA cohort) overstates the volume of a small tumour.

    Examples
    --------
    >>> import numpy as np, SimpleITK as sitk
    >>> from sarcoma_survival.preprocessing import tumor_volume_cm3
    >>> a = np.zeros((5, 6, 7), np.uint8); a[1:4, 1:5, 1:6] = 1   # 60 voxels
    >>> m = sitk.GetImageFromArray(a); m.SetSpacing((2.0, 1.0, 4.0))   # 8 mm3 each
    >>> tumor_volume_cm3(m)
    0.48
    """
    inside, image = _mask_voxels(mask, label, patient)
    return float(np.count_nonzero(inside)) * float(np.prod(image.GetSpacing())) / 1000.0
