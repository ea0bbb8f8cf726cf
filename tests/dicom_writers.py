"""Minimal DICOM writers for tests: an MR series from a SimpleITK image, a SEG, an RTSTRUCT
that references its series (the RTSTRUCT body is tests/test_preprocessing_volume.py's writer)."""
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"


def _dataset(sop_class, modality, patient_id, study_uid, frame_uid):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID, ds.PatientName = modality, patient_id, patient_id
    ds.StudyInstanceUID, ds.FrameOfReferenceUID = study_uid, frame_uid
    return ds


def _geometry(image):
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    orientation = [*direction[:, 0], *direction[:, 1]]
    origin, spacing = np.asarray(image.GetOrigin()), np.asarray(image.GetSpacing())
    positions = [origin + k * spacing[2] * direction[:, 2] for k in range(image.GetSize()[2])]
    return orientation, positions, spacing


def write_mr_series(image, folder, description, *, patient_id="P1", study_uid=None, frame_uid=None):
    """Write ``image`` as one DICOM MR series (one file per slice); return its SeriesInstanceUID."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    study_uid, frame_uid, series_uid = study_uid or generate_uid(), frame_uid or generate_uid(), generate_uid()
    array = np.clip(np.rint(sitk.GetArrayFromImage(image)), 0, 65535).astype(np.uint16)
    orientation, positions, spacing = _geometry(image)
    for k, (plane, position) in enumerate(zip(array, positions)):
        ds = _dataset(MR_STORAGE, "MR", patient_id, study_uid, frame_uid)
        ds.SeriesInstanceUID, ds.SeriesDescription, ds.SeriesNumber = series_uid, description, 1
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
        ds.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[0]:g}"]
        ds.SliceThickness = f"{spacing[2]:g}"
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = plane.tobytes()
        ds.save_as(folder / f"slice-{k:03d}.dcm", enforce_file_format=True)
    return series_uid


def write_seg(path, reference, mask_zyx, referenced_series_uid, *, labels=("Tumor",), patient_id="P1"):
    """A DICOM SEG (binary) of ``mask_zyx`` (an int label array, segment i = value i) on ``reference``'s grid."""
    from pydicom.pixels import pack_bits

    ds = _dataset(SEG_STORAGE, "SEG", patient_id, generate_uid(), generate_uid())
    ds.SeriesInstanceUID, ds.SeriesDescription = generate_uid(), "Segmentation"
    orientation, positions, spacing = _geometry(reference)
    segments = []
    for number, label in enumerate(labels, start=1):
        item = Dataset()
        item.SegmentNumber, item.SegmentLabel = number, label
        segments.append(item)
    ds.SegmentSequence = Sequence(segments)
    ds.SegmentationType = "BINARY"
    shared = Dataset()
    plane = Dataset()
    plane.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    measures = Dataset()
    measures.PixelSpacing = [f"{spacing[1]:g}", f"{spacing[0]:g}"]
    measures.SliceThickness = f"{spacing[2]:g}"
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = Sequence([plane]), Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, per_frame = [], []
    for number in range(1, len(labels) + 1):
        for k, position in enumerate(positions):
            frame = mask_zyx[k] == number
            if not frame.any():
                continue
            item, where, which = Dataset(), Dataset(), Dataset()
            where.ImagePositionPatient = [f"{v:.4f}" for v in position]
            which.ReferencedSegmentNumber = number
            item.PlanePositionSequence, item.SegmentIdentificationSequence = Sequence([where]), Sequence([which])
            per_frame.append(item)
            frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    reference_item = Dataset()
    reference_item.SeriesInstanceUID = referenced_series_uid
    ds.ReferencedSeriesSequence = Sequence([reference_item])
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = mask_zyx.shape[1:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.PixelData = pack_bits(np.asarray(frames, dtype=np.uint8))
    ds.save_as(path, enforce_file_format=True)
    return path


def contours_of(mask_zyx, reference):
    """Closed planar contours (LPS mm) of a box-shaped mask, one square per slice, on ``reference``'s grid."""
    direction = np.asarray(reference.GetDirection(), dtype=float).reshape(3, 3)
    matrix = direction @ np.diag(reference.GetSpacing())
    origin = np.asarray(reference.GetOrigin(), dtype=float)
    contours = []
    for k in np.flatnonzero(mask_zyx.any(axis=(1, 2))):
        rows, cols = np.nonzero(mask_zyx[k])
        corners = [(cols.min() - .4, rows.min() - .4), (cols.max() + .4, rows.min() - .4),
                   (cols.max() + .4, rows.max() + .4), (cols.min() - .4, rows.max() + .4)]
        contours.append([origin + matrix @ np.array([i, j, k]) for i, j in corners])
    return contours


def reference_series(path, series_uid):
    """Make the RTSTRUCT at ``path`` reference ``series_uid``, as a planning system writes it."""
    import pydicom

    ds = pydicom.dcmread(path)
    series = Dataset()
    series.SeriesInstanceUID = series_uid
    study = Dataset()
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    ds.save_as(path, enforce_file_format=True)
    return path
