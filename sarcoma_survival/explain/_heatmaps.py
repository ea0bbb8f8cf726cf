"""Heat maps of a fitted image estimator (Grad-CAM, integrated gradients): maps, figures, NIfTI files."""
from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ..utils import fill_doc
from ._gradcam import grad_cam_3d, layer_resolutions
from ._integrated import blurred_baseline, integrated_gradients_3d

_BLOCKS = ("denseblock1", "denseblock2", "denseblock3", "denseblock4")

#: The first lines of the examples: a small DenseNet fitted on noise volumes.
_TINY_DENSENET = '''    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival import DenseNetSurvival
    >>> from sarcoma_survival.explain import gradcam, integrated_gradients
    >>> rng = np.random.default_rng(0)
    >>> vols = rng.normal(size=(12, 1, 16, 16, 16)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(12) < 0.6, rng.uniform(100, 900, 12))
    >>> net = DenseNetSurvival(preprocessor=None, max_epochs=1, augment=None, random_state=0,
    ...     module__init_features=8, module__growth_rate=4, module__block_config=(1, 1),
    ...     batch_size=4).fit(vols, y)
'''


def _gradcam_parts(estimator, X):
    """(module, image batch getter, forward, dense-block prefix) for a fitted estimator."""
    from ..nn import DenseNetSurvival, MMNNSurvival, SurvivalNeuralNet

    if not isinstance(estimator, SurvivalNeuralNet):  # before the fitted check: say what is wrong
        raise TypeError(
            f"Grad-CAM needs an image model (DenseNetSurvival or MMNNSurvival); got {type(estimator).__name__}"
        )
    check_is_fitted(estimator, "module_")
    if isinstance(estimator, MMNNSurvival):
        inputs = estimator.transform_inputs(X)
        clinical, volumes = np.asarray(inputs["clinical"], np.float32), inputs["image"]

        def batch(idx):
            image = np.stack([np.asarray(volumes[i], np.float32) for i in idx])
            return (torch.as_tensor(image), torch.as_tensor(clinical[idx]))

        def forward(module, inputs):
            image, clinical_rows = inputs
            return module(clinical_rows, image)[0]  # the fused (multimodal) risk

        return estimator.module_, volumes, batch, forward, estimator.gradcam_layer_prefix
    if isinstance(estimator, DenseNetSurvival):
        volumes = estimator.transform_inputs(X)

        def batch(idx):
            return (torch.as_tensor(np.stack([np.asarray(volumes[i], np.float32) for i in idx])),)

        def forward(module, inputs):
            return module(inputs[0])

        return estimator.module_, volumes, batch, forward, estimator.gradcam_layer_prefix
    raise TypeError(
        f"Grad-CAM needs an image model (DenseNetSurvival or MMNNSurvival); got {type(estimator).__name__}"
    )


def choose_layer(module, prefix, volume_shape, n_channels, min_resolution=8):
    """The deepest dense block whose output is at least ``min_resolution`` per side.

    Parameters
    ----------
    module : torch.nn.Module
        The network holding the MONAI DenseNet.
    prefix : str
        Dotted path to the DenseNet's ``features`` container, ending in ``"."``.
    volume_shape : tuple of int
        (D, H, W) of the network input.
    n_channels : int
    min_resolution : int, default=8

    Returns
    -------
    layer : str
    resolutions : dict
        Spatial size of each dense block's output.

    Examples
    --------
    >>> from sarcoma_survival.nn import DenseNetRisk
    >>> from sarcoma_survival.explain import choose_layer
    >>> net = DenseNetRisk(in_channels=1, init_features=8, growth_rate=4, block_config=(1, 1, 1, 1))
    >>> choose_layer(net, "encoder.features.", (64, 64, 64), 1)[0]
    'encoder.features.denseblock2'
    """
    names = [prefix + b for b in _BLOCKS if _has(module, prefix + b)]
    if not names:
        raise ValueError(f"no dense block found under {prefix!r}")
    outer = _outer(prefix)
    example = torch.zeros((1, n_channels, *volume_shape))
    sizes = layer_resolutions(_image_part(module, prefix), example, [n[len(outer):] for n in names])
    sizes = {outer + k: v for k, v in sizes.items()}
    usable = [n for n in names if min(sizes[n]) >= min_resolution]
    return (usable[-1] if usable else names[0]), sizes


def _outer(prefix):
    """``"image_net.encoder.features."`` -> ``"image_net."``: the path to the image network."""
    return prefix[: prefix.index("encoder.")] if "encoder." in prefix else ""


def _image_part(module, prefix):
    outer = _outer(prefix).rstrip(".")
    return module.get_submodule(outer) if outer else module


def _has(module, name):
    try:
        module.get_submodule(name)
        return True
    except AttributeError:
        return False


@fill_doc(tiny_densenet=_TINY_DENSENET)
def gradcam(estimator, X, *, layer="auto", min_resolution=8, batch_size=4):
    """Grad-CAM maps of the predicted risk for each patient of ``X``.

    Parameters
    ----------
    estimator : fitted DenseNetSurvival or MMNNSurvival
    X : DataFrame
        Cohort table of the patients to explain (same columns as for ``predict``).
    layer : str, default="auto"
        Dotted layer name (e.g. ``"encoder.features.denseblock2"`` for
        :class:`~sarcoma_survival.DenseNetSurvival`) or ``"auto"`` (see module notes).
    min_resolution : int, default=8
        Smallest map edge accepted by ``layer="auto"``.
    batch_size : int, default=4

    Returns
    -------
    Bunch
        ``maps`` (ndarray (n, D, H, W) in [0, 1], on the preprocessed grid), ``volumes``
        (the network inputs, indexable per patient), ``layer``, ``resolutions`` (map size
        of every dense block), ``index`` (patient ids).

    Examples
    --------
    <tiny_densenet>
    >>> gradcam(net, vols[:2], layer="encoder.features.denseblock1").maps.shape
    (2, 16, 16, 16)
    """
    module, volumes, batch, forward, prefix = _gradcam_parts(estimator, X)
    first = np.asarray(volumes[0])
    if layer == "auto":
        layer, sizes = choose_layer(module, prefix, first.shape[1:], first.shape[0], min_resolution)
    else:
        sizes = {}
    maps = []
    n = len(volumes)
    for start in range(0, n, batch_size):
        idx = list(range(start, min(n, start + batch_size)))
        maps.append(grad_cam_3d(module, batch(idx), layer, forward=forward))
    index = list(getattr(X, "index", range(n)))
    return Bunch(maps=np.concatenate(maps), volumes=volumes, layer=layer, resolutions=sizes, index=index)


@fill_doc(tiny_densenet=_TINY_DENSENET)
def integrated_gradients(estimator, X, *, sigma=2.0, steps=32, batch_size=4):
    """Integrated-gradients maps of the predicted risk, from a blurred copy of each image.

    The baseline is the network input smoothed by a Gaussian of ``sigma`` voxels, so the
    map shares out ``risk_change``, the part of the log-risk that the image's detail finer
    than about ``sigma`` voxels adds (texture, edges, small structures); what the blurred
    image still shows (the tumour's size, shape and mean brightness) gets no heat. Unlike
    Grad-CAM, which reads the gradient at the input only and one value per block of voxels,
    the gradient is averaged along the path from the baseline, so evidence that has
    saturated the network still shows, voxel by voxel (see the explain guide for the
    measured difference).

    Parameters
    ----------
    estimator : fitted DenseNetSurvival or MMNNSurvival
    X : DataFrame
        Cohort table of the patients to explain (same columns as for ``predict``).
    sigma : float, default=2.0
        Blur of the baseline in voxels of the network input.
    steps : int, default=32
        Points on the path from the baseline (midpoint rule). The attributions' sum
        approaches ``risk_change`` as ``steps`` grows; on the test's small DenseNet the
        median gap was 9 % of it at 16 steps, 4 % at 32 and 1 % at 128, while the map
        itself no longer changed after 16.
    batch_size : int, default=4

    Returns
    -------
    Bunch
        ``maps`` (ndarray (n, D, H, W) in [0, 1]: the risk-raising part of the attributions
        summed over channels, relative to each patient's peak), ``attributions`` (ndarray
        (n, C, D, H, W), signed, in log-risk units), ``risk_change`` (ndarray (n,): the
        predicted log-risk minus that of the blurred image, which the attributions sum to
        up to the path's discretisation), ``volumes``, ``method``, ``sigma``, ``index``.

    Examples
    --------
    <tiny_densenet>
    >>> result = integrated_gradients(net, vols[:2], steps=4)
    >>> result.maps.shape, result.attributions.shape
    ((2, 16, 16, 16), (2, 1, 16, 16, 16))
    """
    if isinstance(sigma, bool) or not (isinstance(sigma, numbers.Real) and 0 <= sigma < np.inf):
        raise ValueError(f"sigma must be a finite number >= 0 (voxels); got {sigma!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not (isinstance(value, numbers.Integral) and value >= 1):
            raise ValueError(f"{name} must be a whole number >= 1; got {value!r}")
    module, volumes, batch, forward, _ = _gradcam_parts(estimator, X)
    attributions, changes = [], []
    n = len(volumes)
    for start in range(0, n, batch_size):
        inputs = batch(list(range(start, min(n, start + batch_size))))
        baseline = torch.as_tensor(blurred_baseline(inputs[0].numpy(), sigma))
        part, change = integrated_gradients_3d(module, inputs, baseline, forward=forward, steps=steps)
        attributions.append(part)
        changes.append(change)
    attributions = np.concatenate(attributions)
    raising = np.maximum(attributions.sum(axis=1), 0.0)
    peak = raising.reshape(n, -1).max(axis=1).reshape(n, 1, 1, 1)
    maps = np.where(peak > 0, raising / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)
    index = list(getattr(X, "index", range(n)))
    return Bunch(maps=maps, attributions=attributions, risk_change=np.concatenate(changes), volumes=volumes,
                 method="integrated-gradients", sigma=float(sigma), index=index)


def _center(cam):
    if cam.max() <= 0:
        return tuple(s // 2 for s in cam.shape)
    return np.unravel_index(int(np.argmax(cam)), cam.shape)


def _scale_bar_mm(field_mm):
    """A round scale-bar length (mm) of about a quarter of the field of view."""
    for length in (100, 50, 20, 10, 5, 2, 1):
        if length <= field_mm / 3:
            return length
    return field_mm / 4


def plot_gradcam(volume, cam, *, mask=None, spacing_mm=None, channel_names=("T1", "T2"), alpha=0.45,
                 threshold=0.2, title=None, fig=None, label="Grad-CAM"):
    """Overlay a heat map on the axial, coronal and sagittal slices through the tumour (or its peak).

    Drawn for a reader: the tumour outline (``mask``) over the heat, a colour bar of the
    heat's scale and, with ``spacing_mm``, a physical scale bar. The slices go through the
    centre of the tumour when ``mask`` is given, else through the map's peak.

    Parameters
    ----------
    volume : ndarray of shape (C, D, H, W)
        The preprocessed network input of one patient.
    cam : ndarray of shape (D, H, W)
        Its heat map in [0, 1] (Grad-CAM or integrated gradients).
    mask : ndarray of shape (D, H, W), optional
        The tumour on the same grid; its outline is drawn on every slice.
    spacing_mm : float, optional
        Voxel size of the (isotropic) grid, for the scale bar.
    channel_names : sequence of str, default=("T1", "T2")
    alpha : float, default=0.45
        Opacity of the heat map.
    threshold : float, default=0.2
        Map values below this are not drawn.
    title : str, optional
    fig : matplotlib Figure, optional
    label : str, default="Grad-CAM"
        The method's name on the colour bar.

    Returns
    -------
    matplotlib.figure.Figure
        One row per channel, three columns (axial, coronal, sagittal), and a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.explain import plot_gradcam
    >>> mask = np.zeros((8, 8, 8), bool); mask[2:6, 2:6, 2:6] = True
    >>> fig = plot_gradcam(np.zeros((2, 8, 8, 8)), np.ones((8, 8, 8)), mask=mask, spacing_mm=2.0)
    >>> len(fig.axes)  # six slices and the colour bar
    7
    """
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    volume = np.asarray(volume, dtype=float)
    cam = np.asarray(cam, dtype=float)
    if volume.ndim != 4 or cam.shape != volume.shape[1:]:
        raise ValueError(f"volume must be (C, D, H, W) and cam (D, H, W); got {volume.shape} and {cam.shape}")
    if mask is not None and np.shape(mask) != cam.shape:
        raise ValueError(f"mask must be (D, H, W) like cam {cam.shape}; got {np.shape(mask)}")
    n_channels = volume.shape[0]
    fig = fig or plt.figure(figsize=(9.8, 3 * n_channels + 0.4))
    axes = fig.subplots(n_channels, 3, squeeze=False)
    # through the tumour's centre when its mask is given (heat is read against the tumour),
    # else through the map's peak
    d, h, w = (_center(cam) if mask is None or not np.any(mask)
               else tuple(int(round(v)) for v in np.argwhere(np.asarray(mask, bool)).mean(axis=0)))
    views = [("axial", lambda a: a[d]), ("coronal", lambda a: a[:, h]), ("sagittal", lambda a: a[:, :, w])]
    overlay = np.ma.masked_less(cam, threshold)
    for c in range(n_channels):
        name = channel_names[c] if c < len(channel_names) else f"channel {c}"
        for col, (view, take) in enumerate(views):
            ax = axes[c, col]
            ax.imshow(take(volume[c]), cmap="gray", origin="lower")
            ax.imshow(take(overlay), cmap="jet", vmin=0, vmax=1, alpha=alpha, origin="lower")
            if mask is not None and np.any(take(np.asarray(mask, bool))):
                ax.contour(take(np.asarray(mask, float)), levels=[0.5], colors="white", linewidths=1.2,
                           origin="lower")
            if spacing_mm is not None:
                rows, cols = take(cam).shape
                length = _scale_bar_mm(cols * spacing_mm)
                x0, y0 = 0.05 * cols, 0.06 * rows
                ax.plot([x0, x0 + length / spacing_mm], [y0, y0], color="white", linewidth=2.5,
                        solid_capstyle="butt")
                ax.text(x0, y0 + 0.03 * rows, f"{length:g} mm", color="white", fontsize=8, va="bottom")
            ax.set_title(f"{name} {view}", fontsize=9)
            ax.set_axis_off()
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap="jet"), ax=axes.ravel().tolist(), shrink=0.8,
                       fraction=0.03, pad=0.02)
    bar.set_label(f"{label}, relative to this patient's peak (shown above {threshold:g})", fontsize=8)
    if mask is not None:
        fig.text(0.01, 0.01, "white outline: tumour mask", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def tumour_on_grid(volumes, i, mask_path, t1_path, *, patient=None):
    """The tumour mask of patient ``i`` on the preprocessed grid of ``volumes`` (boolean (D, H, W)).

    Parameters
    ----------
    volumes : VolumeArray
        The network inputs (they know each patient's output grid).
    i : int
    mask_path, t1_path : str
        The patient's mask and T1 (the mask is read on the T1 grid, as the preprocessing does).
    patient : str, optional
        Named in error messages.

    Returns
    -------
    ndarray of bool, shape (D, H, W)
    """
    import SimpleITK as sitk

    from ..preprocessing import read_image, read_mask

    t1 = read_image(t1_path, patient=patient, column="t1")
    mask = read_mask(mask_path, t1, patient=patient)
    reference = volumes.to_image(i, np.zeros(np.asarray(volumes[i]).shape[1:], np.float32))
    on_grid = sitk.Resample(mask, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return sitk.GetArrayFromImage(on_grid).astype(bool)


_METHODS = {"gradcam": "Grad-CAM", "integrated-gradients": "integrated gradients"}


def save_gradcam(estimator, X, output, *, nifti=False, layer="auto", min_resolution=8, method="gradcam"):
    """Write a PNG overlay (and optionally a NIfTI map on the original T1) per patient.

    Parameters
    ----------
    estimator : fitted DenseNetSurvival or MMNNSurvival
    X : DataFrame
        Cohort table of the patients to explain.
    output : str or Path
        Folder (created if needed).
    nifti : bool, default=False
        Also write ``<patient>_gradcam.nii.gz``: the map resampled (linearly) from the
        preprocessed grid onto the patient's original T1 grid, 0 outside the crop.
    layer, min_resolution
        See :func:`gradcam`.
    method : {"gradcam", "integrated-gradients"}, default="gradcam"
        :func:`gradcam`, or :func:`integrated_gradients` with its defaults (finer maps whose
        heat lies where the planted signal is on the synthetic test cohort; see the
        explain guide).

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> from sarcoma_survival.explain import save_gradcam  # doctest: +SKIP
    >>> save_gradcam(model, cohort.X.iloc[:2], "heatmaps", nifti=True)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    import SimpleITK as sitk

    from .._output_paths import check_output_folder, patient_file
    from ..preprocessing import read_image
    from ..utils import atomic_path

    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}; got {method!r}")
    for patient in getattr(X, "index", ()):  # every name is checked before any work
        patient_file(output, patient, "_gradcam.png")
    output = check_output_folder(output, option="output")
    if method == "gradcam":
        result = gradcam(estimator, X, layer=layer, min_resolution=min_resolution)
        title = f"Grad-CAM ({result.layer})"
    else:
        result = integrated_gradients(estimator, X)
        title = f"integrated gradients (baseline: the image blurred by {result.sigma:g} voxels)"
    output.mkdir(parents=True, exist_ok=True)
    names = ["T1", "T2"] if "t2" in getattr(X, "columns", ()) else ["T1"]
    written = []
    on_grid = hasattr(result.volumes, "to_image") and "mask" in getattr(X, "columns", ())
    for i, patient in enumerate(result.index):
        volume = np.asarray(result.volumes[i])
        mask = spacing = None
        if on_grid:  # the outline and the scale need the physical grid of the preprocessed crop
            mask = tumour_on_grid(result.volumes, i, X.iloc[i]["mask"], X.iloc[i]["t1"], patient=str(patient))
            spacing = float(min(result.volumes.geometry(i)["spacing"]))
        fig = plot_gradcam(volume, result.maps[i], mask=mask, spacing_mm=spacing, channel_names=names,
                           title=f"{patient}: {title}", label=_METHODS[method])
        path = patient_file(output, patient, "_gradcam.png")
        with atomic_path(path) as tmp:  # a failed write never leaves half a figure
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
        if nifti:
            if not hasattr(result.volumes, "to_image"):
                raise ValueError("NIfTI output needs images preprocessed by a VolumePreprocessor")
            t1 = read_image(X.iloc[i]["t1"], patient=patient, column="t1")
            cam_image = result.volumes.to_image(i, result.maps[i])
            on_t1 = sitk.Resample(cam_image, t1, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
            path = patient_file(output, patient, "_gradcam.nii.gz")
            with atomic_path(path) as tmp:
                sitk.WriteImage(on_t1, str(tmp))
            written.append(path)
    return written
