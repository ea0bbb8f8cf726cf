"""Helpers shared by the subpackages: cache folders, hashing, atomic writes, image grids.

Every subpackage imports these from ``sarcoma_survival.utils`` (never from its private
modules); ``sarcoma_survival.utils`` imports nothing else from the package but the cohort
contract (``sarcoma_survival._schema``) and the lazy exports (``sarcoma_survival._lazy``),
which import nothing, so it sits at the bottom of
the layers (see the Architecture page of the documentation). It is the
package's internal toolbox, not part of the public API: it has no ``__all__``, so the API
reference and its documentation checks leave it out.
"""
from .._lazy import lazy_exports  # noqa: F401
from ._archives import MAX_DEFLATE_RATIO, ArchiveError, open_bounded_zip  # noqa: F401
from ._curves import check_follow_up_times, curve_values  # noqa: F401
from ._docs import fill_doc  # noqa: F401
from ._errors import USER_ERRORS, error_line  # noqa: F401
from ._estimators import walk_estimators  # noqa: F401
from ._files import (  # noqa: F401
    MAX_FOLDER_BYTES,
    MAX_FOLDER_FILES,
    InputPathError,
    atomic_path,
    clean_stale_temp_files_once,
    file_digest,
    get_cache_dir,
    get_data_dir,
    hash_params,
    input_files,
    read_record,
    verify_file,
    write_record,
    write_verified,
)
from ._headers import IMAGE_IOS, MAX_HEADER_BYTES, image_format  # noqa: F401
from ._images import same_grid  # noqa: F401
from ._lazy import import_without  # noqa: F401

# The competing-risks outcome (its checks need scikit-learn, pandas and scikit-survival) is
# imported on first use (PEP 562), so that the image and radiomics workers, which import this
# package for its cache helpers, start without them (benchmarks/bench_parallel.py --what
# startup). What models competing risks lives in ``sarcoma_survival.competing_risks``.
_COMPETING = (
    "COMPETING_DTYPE",
    "check_cause",
    "check_competing_y",
    "competing_y",
    "is_competing_y",
)

#: Numerical cores of the calibration metrics (numpy only), imported on first use as well.
_SURVIVAL_STATS = (
    "aalen_johansen_curve",
    "censor_at",
    "coef_table",
    "cox_covariance",
    "cox_efron_fit",
    "cox_information",
    "efron_survival_at",
    "incidence_at",
    "rcs_basis",
    "rcs_knots",
)

__getattr__, _ = lazy_exports(
    __name__, {**dict.fromkeys(_COMPETING, "._competing"), **dict.fromkeys(_SURVIVAL_STATS, "._survival_stats")}
)

