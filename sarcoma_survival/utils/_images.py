"""Geometry tests on SimpleITK images that several subpackages share."""
from __future__ import annotations

import numpy as np

#: Tolerance for spacing (mm) and direction cosines (unitless).
GRID_TOL = 1e-4
#: Tolerance for the origin, in mm. The origin is tens to hundreds of mm away from the
#: scanner's isocenter and reaches us through file headers that round it (float32 NIfTI
#: offsets, DICOM decimal strings of at most 16 characters, NRRD text), so it carries a
#: larger round-off than the spacing: 1e-3 mm accepts such a mask as "on the same grid"
#: while staying 500 times below the finest MRI voxel (0.5 mm), so treating the two
#: grids as one moves no voxel. The former radiomics copy used 1e-4 mm: a T2 off by 5e-4 mm
#: went through a linear interpolation that moved its features by up to 10 % (edge voxels
#: blended with the padding), and such a T1 met PyRadiomics' geometry error
#: (tests/test_radiomics.py::test_header_round_off_takes_the_mask_grid_not_an_interpolation).
ORIGIN_TOL = 1e-3


def same_grid(a, b):
    """True when two SimpleITK images share size, spacing, origin and direction.

    Spacing and direction must agree to :data:`GRID_TOL`, the origin to
    :data:`ORIGIN_TOL` mm (absolute), each plus numpy's default relative tolerance of
    1e-5. Callers that get True copy one image's header onto the other
    (``CopyInformation``) rather than resample, so the verdict never interpolates.

    Examples
    --------
    >>> import SimpleITK as sitk
    >>> from sarcoma_survival.utils import same_grid
    >>> a = sitk.Image(4, 4, 4, sitk.sitkUInt8)
    >>> b = sitk.Image(4, 4, 4, sitk.sitkUInt8); b.SetOrigin((5e-4, 0.0, 0.0))
    >>> same_grid(a, b), same_grid(a, sitk.Image(4, 4, 5, sitk.sitkUInt8))
    (True, False)
    """
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=GRID_TOL)
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=ORIGIN_TOL)
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=GRID_TOL)
    )
