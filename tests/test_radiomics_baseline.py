"""RadiomicsExtractor reproduces PyRadiomics' own regression baseline on real images.

``../shared/validation/pyradiomics`` holds the brain1, brain2 and breast1 test cases of
PyRadiomics with its baseline feature values, one CSV per feature class; the settings of
every configuration are stored in the CSV row ``diagnostics_Configuration_Settings``. The
extraction goes through :class:`RadiomicsExtractor` (raw files, ``preprocessor=None``).
"""
from __future__ import annotations

import ast
import csv

import numpy as np
import pandas as pd
import pytest

from sarcoma_survival.radiomics import RadiomicsExtractor

pytestmark = pytest.mark.realdata

CASES = ("brain1", "brain2", "breast1")
# shape2D is left out: its baseline columns belong to the test cases ``<case>_2D`` (see the
# row diagnostics_Configuration_TestCase), single-slice images that the bundle does not hold.
CLASSES = ("firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm", "shape")
# Shape features computed on the triangle mesh (PyRadiomics' marching cubes changed slightly
# between the baseline's version and 3.0.1): 1e-2 relative, all others 1e-3.
MESH_FEATURES = {"MeshVolume", "SurfaceArea", "SurfaceVolumeRatio", "Sphericity", "Maximum3DDiameter",
                 "Maximum2DDiameterSlice", "Maximum2DDiameterColumn", "Maximum2DDiameterRow"}


def _baseline(folder, cls):
    with open(folder / "baseline" / f"baseline_{cls}.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    return {row[0]: dict(zip(header[1:], row[1:])) for row in rows[1:]}


def _params(settings_text, cls):
    settings = {k: v for k, v in ast.literal_eval(settings_text).items() if v is not None}
    settings.pop("additionalInfo", None)
    return {"imageType": {"Original": {}}, "featureClass": {cls: []}, "setting": settings}


@pytest.mark.parametrize("cls", CLASSES)
def test_reproduces_pyradiomics_baseline(validation_dir, cls, tmp_path):
    folder = validation_dir / "pyradiomics"
    baseline = _baseline(folder, cls)
    checked = 0
    for case in CASES:
        column = case
        X = pd.DataFrame(
            {"t1": [str(folder / f"{case}_image.nrrd")], "mask": [str(folder / f"{case}_label.nrrd")]},
            index=[case],
        )
        params = _params(baseline["diagnostics_Configuration_Settings"][column], cls)
        features = RadiomicsExtractor(params, preprocessor=None, cache_dir=tmp_path).fit_transform(X)
        expected = {k: float(v[column]) for k, v in baseline.items() if k.startswith("original_")}
        ours = {k.removeprefix("t1_"): v for k, v in features.iloc[0].items()}
        assert set(expected) <= set(ours), f"{case}: missing {sorted(set(expected) - set(ours))}"
        for name, value in expected.items():
            rtol = 1e-2 if name.rsplit("_", 1)[1] in MESH_FEATURES else 1e-3
            np.testing.assert_allclose(ours[name], value, rtol=rtol, atol=1e-12, err_msg=f"{case} {name}")
            checked += 1
    assert checked >= 3


# --------------------------------------------------------------------------- IBSI phantom
def _ibsi_map():
    """PyRadiomics feature -> IBSI-1 tag. Texture: PyRadiomics averages over the 13 directions
    of 3D, which is IBSI's "3D_avg" aggregation (GLCM, GLRLM); GLSZM/NGTDM/GLDM are IBSI "3D"."""
    glcm = {
        "MaximumProbability": "joint_max", "JointAverage": "joint_avg", "SumSquares": "joint_var",
        "JointEntropy": "joint_entr", "DifferenceAverage": "diff_avg", "DifferenceVariance": "diff_var",
        "DifferenceEntropy": "diff_entr", "SumAverage": "sum_avg", "SumEntropy": "sum_entr",
        "JointEnergy": "energy", "Contrast": "contrast", "Id": "inv_diff", "Idn": "inv_diff_norm",
        "Idm": "inv_diff_mom", "Idmn": "inv_diff_mom_norm", "InverseVariance": "inv_var",
        "Correlation": "corr", "Autocorrelation": "auto_corr", "ClusterTendency": "clust_tend",
        "ClusterShade": "clust_shade", "ClusterProminence": "clust_prom", "Imc1": "info_corr1",
        "Imc2": "info_corr2",
    }
    glrlm = {
        "ShortRunEmphasis": "sre", "LongRunEmphasis": "lre", "LowGrayLevelRunEmphasis": "lgre",
        "HighGrayLevelRunEmphasis": "hgre", "ShortRunLowGrayLevelEmphasis": "srlge",
        "ShortRunHighGrayLevelEmphasis": "srhge", "LongRunLowGrayLevelEmphasis": "lrlge",
        "LongRunHighGrayLevelEmphasis": "lrhge", "GrayLevelNonUniformity": "glnu",
        "GrayLevelNonUniformityNormalized": "glnu_norm", "RunLengthNonUniformity": "rlnu",
        "RunLengthNonUniformityNormalized": "rlnu_norm", "RunPercentage": "r_perc",
        "GrayLevelVariance": "gl_var", "RunVariance": "rl_var", "RunEntropy": "rl_entr",
    }
    glszm = {
        "SmallAreaEmphasis": "sze", "LargeAreaEmphasis": "lze", "LowGrayLevelZoneEmphasis": "lgze",
        "HighGrayLevelZoneEmphasis": "hgze", "SmallAreaLowGrayLevelEmphasis": "szlge",
        "SmallAreaHighGrayLevelEmphasis": "szhge", "LargeAreaLowGrayLevelEmphasis": "lzlge",
        "LargeAreaHighGrayLevelEmphasis": "lzhge", "GrayLevelNonUniformity": "glnu",
        "GrayLevelNonUniformityNormalized": "glnu_norm", "SizeZoneNonUniformity": "zsnu",
        "SizeZoneNonUniformityNormalized": "zsnu_norm", "ZonePercentage": "z_perc",
        "GrayLevelVariance": "gl_var", "ZoneVariance": "zs_var", "ZoneEntropy": "zs_entr",
    }
    gldm = {
        "SmallDependenceEmphasis": "lde", "LargeDependenceEmphasis": "hde", "LowGrayLevelEmphasis": "lgce",
        "HighGrayLevelEmphasis": "hgce", "SmallDependenceLowGrayLevelEmphasis": "ldlge",
        "SmallDependenceHighGrayLevelEmphasis": "ldhge", "LargeDependenceLowGrayLevelEmphasis": "hdlge",
        "LargeDependenceHighGrayLevelEmphasis": "hdhge", "GrayLevelNonUniformity": "glnu",
        "DependenceNonUniformity": "dcnu", "DependenceNonUniformityNormalized": "dcnu_norm",
        "GrayLevelVariance": "gl_var", "DependenceVariance": "dc_var", "DependenceEntropy": "dc_entr",
    }
    first = {
        "Mean": "stat_mean", "Variance": "stat_var", "Skewness": "stat_skew", "Median": "stat_median",
        "Minimum": "stat_min", "10Percentile": "stat_p10", "90Percentile": "stat_p90", "Maximum": "stat_max",
        "InterquartileRange": "stat_iqr", "Range": "stat_range", "MeanAbsoluteDeviation": "stat_mad",
        "RobustMeanAbsoluteDeviation": "stat_rmad", "Energy": "stat_energy", "RootMeanSquared": "stat_rms",
        "Entropy": "ih_entropy", "Uniformity": "ih_uniformity",
    }
    shape = {
        "MeshVolume": "morph_volume", "VoxelVolume": "morph_vol_approx", "SurfaceArea": "morph_area_mesh",
        "SurfaceVolumeRatio": "morph_av", "Sphericity": "morph_sphericity", "Maximum3DDiameter": "morph_diam",
        "Elongation": "morph_pca_elongation", "Flatness": "morph_pca_flatness",
    }
    out = {f"original_firstorder_{k}": v for k, v in first.items()}
    out.update({f"original_shape_{k}": v for k, v in shape.items()})
    out.update({f"original_glcm_{k}": f"cm_{v}_3D_avg" for k, v in glcm.items()})
    out.update({f"original_glrlm_{k}": f"rlm_{v}_3D_avg" for k, v in glrlm.items()})
    out.update({f"original_glszm_{k}": f"szm_{v}_3D" for k, v in glszm.items()})
    out.update({f"original_gldm_{k}": f"ngl_{v}_3D" for k, v in gldm.items()})
    out.update({f"original_ngtdm_{k}": f"ngt_{v}_3D" for k, v in
                {"Coarseness": "coarseness", "Contrast": "contrast", "Busyness": "busyness",
                 "Complexity": "complexity", "Strength": "strength"}.items()})
    return out


def _agrees(value, reference, tolerance):
    """IBSI rule |value - reference| <= tolerance; references with tolerance 0 are given to
    3 significant figures, so half a unit of the third figure is allowed."""
    if tolerance == 0:
        tolerance = 0.5 * 10.0 ** (np.floor(np.log10(abs(reference))) - 2) if reference else 0.0
    return abs(value - reference) <= tolerance + 1e-12


def test_ibsi_digital_phantom(validation_dir, tmp_path):
    folder = validation_dir / "ibsi"
    reference = {}
    with open(folder / "ibsi_1_reference_values" / "ibsi_1_dig_phantom.csv", encoding="utf-8") as handle:
        for line in handle.read().splitlines()[1:]:
            value, tol, tag = line.split(";")
            if value:
                reference[tag] = (float(value), float(tol or 0))
    phantom = folder / "ibsi_1_digital_phantom"
    X = pd.DataFrame({"t1": [str(phantom / "phantom.nii.gz")], "mask": [str(phantom / "mask.nii.gz")]},
                     index=["ibsi_phantom"])
    # Bin width 1 keeps the phantom's integer grey levels as they are (IBSI: no discretisation).
    params = {"setting": {"binWidth": 1, "minimumROIDimensions": 1}}  # all 107 default features
    features = RadiomicsExtractor(params, preprocessor=None, cache_dir=tmp_path).fit_transform(X).iloc[0]
    mapping = _ibsi_map()
    failures = [
        f"{name}: {features['t1_' + name]:.6g} vs IBSI {tag} {reference[tag][0]:g}"
        for name, tag in mapping.items()
        if not _agrees(features["t1_" + name], *reference[tag])
    ]
    assert not failures, failures
    assert len(mapping) == 98

    # Documented deviations of PyRadiomics from IBSI, pinned so that a change is noticed:
    # Kurtosis is not the excess kurtosis (IBSI subtracts 3) ...
    assert _agrees(features["t1_original_firstorder_Kurtosis"] - 3, *reference["stat_kurt"])
    # ... and the PCA axis lengths are smaller by sqrt(n / (n - 1)) (n = ROI voxels),
    # consistent with a covariance normalised by n where IBSI normalises by n - 1.
    n = 74  # voxels in the phantom's ROI
    for name, tag in [("MajorAxisLength", "maj"), ("MinorAxisLength", "min"), ("LeastAxisLength", "least")]:
        ours = features[f"t1_original_shape_{name}"]
        assert _agrees(ours * np.sqrt(n / (n - 1)), reference[f"morph_pca_{tag}_axis"][0], 0)
