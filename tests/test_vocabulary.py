"""The clinical vocabulary: canonical histology names with the WHO synonyms, and the binary grade rule,
applied alike by the manifest loader and by every estimator's clinical encoder."""
import numpy as np
import pandas as pd
import pytest

from sarcoma_survival._schema import HISTOLOGY_NAMES, HISTOLOGY_SYNONYMS
from sarcoma_survival.datasets import load_cohort
from sarcoma_survival.preprocessing import ClinicalEncoder
from sarcoma_survival.utils.validation import canonical_categories, canonical_histology


@pytest.mark.parametrize("written, canonical", [
    ("MFH", "undifferentiated pleomorphic sarcoma"),
    ("Malignant fibrous histiocytoma", "undifferentiated pleomorphic sarcoma"),
    ("storiform-pleomorphic MFH", "undifferentiated pleomorphic sarcoma"),
    ("Myxoid MFH", "myxofibrosarcoma"),
    ("myxoid/round cell liposarcoma", "myxoid liposarcoma"),
    ("Round cell liposarcoma", "myxoid liposarcoma"),
    ("Atypical lipomatous tumour", "well-differentiated liposarcoma"),
    ("MPNST", "malignant peripheral nerve sheath tumor"),
    ("Malignant schwannoma", "malignant peripheral nerve sheath tumor"),
    ("Haemangiopericytoma", "solitary fibrous tumor"),
    ("Well_Differentiated  Liposarcoma", "well-differentiated liposarcoma"),
    ("  Clear cell   SARCOMA ", "clear cell sarcoma"),  # not in the list: kept, lower-cased
])
def test_histology_synonyms(written, canonical):
    assert canonical_histology(written) == canonical


def test_every_synonym_points_to_a_canonical_name_and_names_are_fixed_points():
    assert set(HISTOLOGY_SYNONYMS.values()) <= set(HISTOLOGY_NAMES)
    assert all(canonical_histology(name) == name for name in HISTOLOGY_NAMES)


@pytest.mark.parametrize("written, binary", [
    ("1", "low"), (1, "low"), ("G1", "low"), ("grade I", "low"), ("Low", "low"),
    ("2", "high"), ("3", "high"), ("G2", "high"), ("Grade III", "high"), ("intermediate", "high"),
    ("dedifferentiated", "high"), ("High", "high"),
])
def test_fnclcc_grades_map_to_the_binary_rule(written, binary):
    assert canonical_categories([written], column="grade").tolist() == [binary]


def test_loader_and_encoder_agree_on_renamed_subtypes(tmp_path):
    columns = ("patient_id,age,sex,tumor_size_cm,tumor_depth,grade,histology,location,tumor_volume_cm3,"
               "neoadjuvant_chemo,mets_at_presentation,rt_timing,os_event,os_time\n")
    (tmp_path / "m.csv").write_text(columns + "P1,60,F,8,deep,3,MFH,axial,100,no,no,preop,1,300\n"
                                              "P2,50,M,5,deep,2,Undifferentiated pleomorphic sarcoma,axial,"
                                              "90,no,no,preop,0,900\n")
    X = load_cohort(tmp_path / "m.csv").X
    assert X["histology"].tolist() == ["undifferentiated pleomorphic sarcoma"] * 2
    # a model trained on the current name reads the former one as the same subtype
    train = pd.DataFrame({"age": [60.0, 50, 40, 70], "tumor_size_cm": [8.0, 5, 4, 9], "grade": ["high"] * 4,
                          "histology": ["undifferentiated pleomorphic sarcoma"] * 2 + ["leiomyosarcoma"] * 2})
    encoder = ClinicalEncoder("sarculator", min_frequency=1).fit(train)
    old_name = train.iloc[:1].assign(histology="MFH")
    np.testing.assert_array_equal(encoder.transform(old_name), encoder.transform(train.iloc[:1]))
    assert not np.array_equal(encoder.transform(old_name), encoder.transform(train.iloc[2:3].assign(
        age=60.0, tumor_size_cm=8.0)))  # and not as the other subtype
