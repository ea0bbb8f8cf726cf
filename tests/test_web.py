"""The local web page's JSON API (sarcoma_survival.web) through FastAPI's TestClient."""
from __future__ import annotations

import asyncio
import io
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
from _browser import CHROMEDRIVER, CHROMIUM
from fastapi.testclient import TestClient

from sarcoma_survival import (
    ClinicalMLPSurvival,
    ClinicalRSF,
    DenseNetSurvival,
    SarculatorCoxPH,
    VolumePreprocessor,
)
from sarcoma_survival.datasets import load_cohort, make_synthetic_cohort
from sarcoma_survival.web import create_app
from sarcoma_survival.web._uploads import InputError, unpack_zip

CLINICAL = ("age", "sex", "tumor_size_cm", "tumor_depth", "grade", "histology", "location",
            "tumor_volume_cm3", "neoadjuvant_chemo", "mets_at_presentation", "rt_timing")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return make_synthetic_cohort(40, image_size=16, random_state=3,
                                 data_dir=tmp_path_factory.mktemp("web_cohort"))


@pytest.fixture(scope="module")
def cells(cohort):
    """The manifest's cells as text, exactly what a form sends (image paths made absolute)."""
    table = pd.read_csv(cohort.manifest, dtype=str, keep_default_na=False).set_index("patient_id")
    for name in ("t1", "t2", "mask"):
        table[name] = cohort.X[name]
    return table


@pytest.fixture(scope="module")
def models(cohort, tmp_path_factory):
    X = cohort.X
    net = DenseNetSurvival(
        preprocessor=VolumePreprocessor(size=16, n4=False, cache_dir=tmp_path_factory.mktemp("fit_cache")),
        max_epochs=2, augment=None, random_state=0, batch_size=8, train_split=None,
        module__init_features=8, module__growth_rate=4, module__block_config=(1, 1))
    return {
        "os": net.fit(X, cohort.y_os),
        "dm": ClinicalRSF(n_estimators=15, min_samples_leaf=3, random_state=0).fit(X, cohort.y_dm),
        "clinical_only": SarculatorCoxPH().fit(X, cohort.y_os),
    }


@pytest.fixture()
def temp_root(tmp_path):
    root = tmp_path / "requests"
    root.mkdir()
    return root


@pytest.fixture()
def client(models, temp_root):
    app = create_app(models["os"], dm_model=models["dm"], clinical_model=models["clinical_only"],
                     max_upload_mb=5, temp_dir=temp_root)
    return TestClient(app)


def form(cells, patient, *, images=True, **changes):
    row = cells.loc[patient]
    parts = {name: (None, row[name]) for name in CLINICAL}
    if images:
        for name in ("t1", "t2", "mask"):
            path = Path(row[name])
            parts[name] = (path.name, path.read_bytes())
    for name, value in changes.items():
        if value is None:
            parts.pop(name, None)
        else:
            parts[name] = value if isinstance(value, tuple) else (None, value)
    return parts


def post(client, temp_root, parts):
    """POST /api/predict; every request leaves its private folder removed."""
    response = client.post("/api/predict", files=parts)
    assert list(temp_root.iterdir()) == [], "the request's temp folder outlived the request"
    return response


def _percentile(sorted_risks, risk):
    return 100.0 * (np.sum(sorted_risks < risk) + 0.5 * np.sum(sorted_risks == risk)) / len(sorted_risks)


# one time point: scikit-survival's StepFunction returns a scalar for it (was HTTP 500)
@pytest.mark.parametrize("times, expected_times", [(None, [365.0, 730.0, 1825.0]),
                                                   ("100,500.5,1000", [100.0, 500.5, 1000.0]),
                                                   ("365", [365.0])])
def test_numbers_equal_predict_survival_function(client, temp_root, cohort, cells, models, times,
                                                 expected_times):
    patient = cohort.X.index[5]
    parts = form(cells, patient, **({"times": times} if times else {}))
    response = post(client, temp_root, parts)
    assert response.status_code == 200, response.text
    answer = response.json()
    X = cohort.X.loc[[patient]]
    for role in ("os", "dm", "clinical_only"):
        part = answer if role == "os" else answer[role]
        model = models[role]
        assert part["times"] == expected_times
        fn = model.predict_survival_function(X)[0]
        np.testing.assert_allclose(part["survival"], fn(np.asarray(expected_times)), rtol=0, atol=1e-9)
        risk = model.predict(X)[0]
        assert part["risk"] == pytest.approx(risk, abs=1e-9)
        training = np.sort(model.predict(cohort.X))
        assert part["risk_percentile"] == pytest.approx(_percentile(training, part["risk"]), abs=1e-9)
    assert answer["outcome"] == "os"
    assert answer["gradcam_png"].startswith("data:image/png;base64,")
    assert answer["curves_png"].startswith("data:image/png;base64,")


def test_the_answer_has_only_the_loaded_models_keys(models, cohort, cells, temp_root):
    client = TestClient(create_app(models["clinical_only"], temp_dir=temp_root))
    answer = post(client, temp_root, form(cells, cohort.X.index[0], images=False)).json()
    assert set(answer) == {"outcome", "risk", "risk_percentile", "times", "survival", "curves_png",
                           "survival_low", "survival_high", "interval_method", "warnings", "time_origin"}


def test_schema_takes_fields_and_categories_from_the_fitted_encoders(client, models):
    schema = client.get("/api/schema").json()["fields"]
    by_name = {f["name"]: f for f in schema}
    # ClinicalRSF reads the 11 columns; the image model reads t1, t2 and the mask
    assert [f["name"] for f in schema] == [*CLINICAL, "t1", "t2", "mask"]
    encoder = models["dm"].feature_transformer_
    onehot = encoder.transformer_.named_transformers_["categorical"][-1]
    for column, categories in zip(encoder.categorical_columns_, onehot.categories_):
        assert set(by_name[column]["allowed"]) == {str(c) for c in categories}
    assert by_name["age"] == {"name": "age", "type": "number", "unit": "years", "allowed": None,
                              "label": "Age at surgery", "labels": []}
    grade = by_name["grade"]
    assert dict(zip(grade["allowed"], grade["labels"]))["high"] == "High (grade 2, 3 or dedifferentiated)"
    assert by_name["neoadjuvant_chemo"]["type"] == "boolean"
    assert by_name["histology"]["type"] == "text"
    assert by_name["t1"]["type"] == "file"


def test_health_and_page(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok"
    assert health["models"] == {"os": "DenseNetSurvival", "dm": "ClinicalRSF", "clinical_only": "SarculatorCoxPH"}
    page = client.get("/")
    assert page.status_code == 200
    for name in (*CLINICAL, "t1", "t2", "mask", "times"):
        assert f'name="{name}"' in page.text
    # everything is served by the package itself: no CDN, no remote script or style
    static = Path(__file__).resolve().parent.parent / "sarcoma_survival" / "web" / "static"
    for text in [page.text, *(p.read_text() for p in static.iterdir())]:
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert client.get("/static/app.js").status_code == 200


def _loader_message(tmp_path, column, value):
    """What load_cohort says about the same cell, without its 'manifest ...:' prefix."""
    row = {c: "" for c in CLINICAL}
    row[column] = value
    frame = pd.DataFrame([row], index=pd.Index(["patient"], name="patient_id"))
    frame.to_csv(tmp_path / "one.csv")
    with pytest.raises(ValueError) as info:
        load_cohort(tmp_path / "one.csv")
    return str(info.value).split(": ", 1)[1]


@pytest.mark.parametrize("column, value", [
    ("age", "sixty"), ("tumor_size_cm", "-3"), ("grade", "medium"), ("neoadjuvant_chemo", "maybe"),
    ("location", "head"),
])
def test_a_bad_field_gives_422_with_the_loaders_message(client, temp_root, cohort, cells, tmp_path,
                                                        column, value):
    response = post(client, temp_root, form(cells, cohort.X.index[0], **{column: value}))
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == column
    assert body["detail"] == "form: " + _loader_message(tmp_path, column, value)
    assert "\n" not in body["detail"]


def test_an_empty_field_is_missing_and_is_imputed(client, temp_root, cohort, cells, models):
    patient = cohort.X.index[2]
    answer = post(client, temp_root, form(cells, patient, age="", grade=None)).json()
    X = cohort.X.loc[[patient]].copy()
    X[["age", "grade"]] = np.nan
    np.testing.assert_allclose(answer["dm"]["survival"],
                               models["dm"].predict_survival_function(X)[0]([365, 730, 1825]), atol=1e-9)


@pytest.mark.parametrize("changes, field, words", [
    ({"smoker": "yes"}, "smoker", "unknown field(s): smoker"),
    ({"times": "365,abc"}, "times", "'abc'"),
    ({"times": "365,99999"}, "times", "99999 days is beyond"),
    ({"times": "-5"}, "times", "positive"),
    ({"times": "3_65"}, "times", "'3_65' is not a number"),
    ({"age": "6_5"}, "age", "'6_5'"),
    ({"t2": None}, "t2", "t2 was not uploaded"),
    ({"t1": ("t1.txt", b"hello")}, "t1", "unsupported file type 't1.txt'"),
    ({"age": ("age.nii.gz", b"61")}, "age", "must be text"),
])
def test_other_refusals_name_the_field(client, temp_root, cohort, cells, changes, field, words):
    response = post(client, temp_root, form(cells, cohort.X.index[0], **changes))
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert words in response.json()["detail"]


def test_a_corrupt_upload_gives_422_and_the_server_keeps_working(client, temp_root, cohort, cells):
    bad = form(cells, cohort.X.index[0], t1=("t1.nii.gz", b"\x1f\x8b this is not a NIfTI image"))
    response = post(client, temp_root, bad)
    assert response.status_code == 422
    assert response.json()["field"] == "t1"
    assert "t1.nii.gz" in response.json()["detail"] and str(temp_root) not in response.json()["detail"]
    good = post(client, temp_root, form(cells, cohort.X.index[0]))
    assert good.status_code == 200


def test_two_concurrent_patients_get_their_own_answers(client, temp_root, cohort, cells, models):
    patients = list(cohort.X.index[[1, 7]])
    expected = {p: models["os"].predict_survival_function(cohort.X.loc[[p]])[0]([365, 730, 1825])
                for p in patients}
    assert not np.allclose(*expected.values())
    answers, barrier = {}, threading.Barrier(len(patients) * 2)

    def ask(patient, k):
        barrier.wait()
        answers[patient, k] = client.post("/api/predict", files=form(cells, patient)).json()

    threads = [threading.Thread(target=ask, args=(p, k)) for p in patients for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (patient, _), answer in answers.items():
        np.testing.assert_allclose(answer["survival"], expected[patient], atol=1e-9)
    assert list(temp_root.iterdir()) == []


def _asgi_post(app, body_chunks, headers):
    """Drive the ASGI app with a streamed body; return (status, number of chunks it read)."""
    read, sent = [0], []
    chunks = list(body_chunks)

    async def receive():
        if read[0] < len(chunks):
            read[0] += 1
            return {"type": "http.request", "body": chunks[read[0] - 1], "more_body": read[0] < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/predict", "raw_path": b"/api/predict", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], read[0], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_upload_over_the_limit_is_refused_while_it_is_read(models, temp_root):
    app = create_app(models["clinical_only"], max_upload_mb=0.25, temp_dir=temp_root)
    boundary = b"xyz"
    head = (b"--xyz\r\nContent-Disposition: form-data; name=\"t1\"; filename=\"t1.nii.gz\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n")
    chunk = b"\0" * 65536
    body = [head] + [chunk] * 64 + [b"\r\n--xyz--\r\n"]  # 4 MB, sent without Content-Length
    content_type = [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
    status, read, answer = _asgi_post(app, body, content_type)
    assert status == 413
    assert read <= 6, f"the server read {read} of {len(body)} chunks before refusing"
    assert b"0.25 MB" in answer and b'"field":"t1"' in answer
    assert list(temp_root.iterdir()) == []
    # a declared Content-Length over the limit is refused before any byte is read
    status, read, _ = _asgi_post(app, body, content_type + [(b"content-length", b"4194400")])
    assert (status, read) == (413, 0)
    assert list(temp_root.iterdir()) == []


def test_zip_members_are_written_under_flat_names(tmp_path):
    archive = tmp_path / "t1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.dcm", b"a")
        zf.writestr("series/IM0002", b"b")
    folder = unpack_zip(archive, "t1", 10**6)
    assert sorted(p.name for p in folder.iterdir()) == ["00000.dcm", "00001.dcm"]
    assert not (tmp_path.parent / "evil.dcm").exists() and not archive.exists()
    bomb = tmp_path / "mask.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big", b"\0" * 2_000_000)
    with pytest.raises(InputError, match="exceeds"):
        unpack_zip(bomb, "mask", 10**6)
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a valid zip"):
        unpack_zip(tmp_path / "bad.zip", "t1", 10**6)


def test_the_models_caches_stay_private_and_off_between_requests(client, temp_root, cohort, cells, models):
    service = client.app.state.service
    assert service.models["os"] is not models["os"]  # a private copy: the caller's model is untouched
    fit_cache = Path(models["os"].preprocessor_.cache_dir)
    before = sorted(fit_cache.rglob("*"))
    assert post(client, temp_root, form(cells, cohort.X.index[0])).status_code == 200
    # the request's volumes went to its private folder (config_context), never to the folder
    # the model was fitted with; the model's own parameters are left as they were
    assert sorted(fit_cache.rglob("*")) == before
    reader = service.models["os"].preprocessor_
    assert reader.cache is True and Path(reader.cache_dir) == fit_cache


def test_serve_binds_loopback_and_warns_for_another_host(models, tmp_path, monkeypatch, caplog):
    import joblib
    import uvicorn

    from sarcoma_survival.cli import main

    path = tmp_path / "model.joblib"
    joblib.dump(models["clinical_only"], path)
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    assert main(["serve", "--model-file", str(path), "--allow-pickle"]) == 0
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8000
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert main(["serve", "--model-file", str(path), "--host", "0.0.0.0", "--port", "8123",
                 "--max-upload-mb", "10", "--allow-pickle"]) == 0
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 8123
    assert any("reachable from other machines" in r.getMessage() for r in caplog.records)
    assert main(["serve", "--model-file", str(tmp_path / "absent.joblib")]) == 2


def test_no_patient_value_reaches_the_logs(client, temp_root, cohort, cells, caplog):
    caplog.set_level("DEBUG")
    marker = "Marker-histology-xyz"
    post(client, temp_root, form(cells, cohort.X.index[0], histology=marker))
    post(client, temp_root, form(cells, cohort.X.index[0], age="Marker-age-xyz"))
    assert "Marker" not in caplog.text


# ------------------------------------------------------- what a clinician reads (issue 26)
def test_intervals_by_the_method_each_model_supports(client, temp_root, cohort, cells, models):
    from sksurv.util import Surv  # noqa: F401 (the models were fitted on sksurv outcomes)

    patient = cohort.X.index[5]
    answer = post(client, temp_root, form(cells, patient)).json()
    X = cohort.X.loc[[patient]]
    # Cox: delta method on the linear predictor, S^exp(+-1.96 se), se^2 = z' cov z in the
    # identifiable effects (treatment-coded row, covariance of the contrasts)
    cox, part = models["clinical_only"], answer["clinical_only"]
    _, matrix, columns = cox.feature_transformer_.reference_contrasts()
    z = cox.transform(X)[0][columns]
    se = np.sqrt(z @ matrix @ cox.coef_covariance_ @ matrix.T @ z)
    assert se < np.sqrt(cox.transform(X)[0] @ cox.coef_covariance_ @ cox.transform(X)[0])  # no ridge-only variance
    survival = np.asarray(part["survival"])
    np.testing.assert_allclose(part["survival_low"], survival ** np.exp(1.959963984540054 * se), rtol=1e-9)
    np.testing.assert_allclose(part["survival_high"], survival ** np.exp(-1.959963984540054 * se), rtol=1e-9)
    assert "delta method" in part["interval_method"]
    # forest: the trees' 2.5th-97.5th percentiles, which bracket the forest's own value
    forest = answer["dm"]
    assert "15 trees" in forest["interval_method"]
    low, high, value = (np.asarray(forest[k]) for k in ("survival_low", "survival_high", "survival"))
    assert (low <= value + 1e-12).all() and (value <= high + 1e-12).all() and (low < high).any()
    # a network: no interval, and the page says why
    assert answer["survival_low"] is None and answer["interval_method"].startswith("no interval")


def test_default_horizons_lie_within_every_models_follow_up(models, cohort):
    from sksurv.util import Surv

    from sarcoma_survival.web._service import default_times, follow_up_end

    assert default_times(models.values()) == [365.0, 730.0, 1825.0]  # 7 years of synthetic follow-up
    y = Surv.from_arrays(cohort.y_os["event"], np.minimum(cohort.y_os["time"], 1792.0))
    short = SarculatorCoxPH().fit(cohort.X, y)  # the DM model: 1792 days of follow-up
    assert follow_up_end(short) == 1792.0
    assert default_times([models["os"], short]) == [365.0, 730.0, 1095.0]
    y = Surv.from_arrays(cohort.y_os["event"], np.minimum(cohort.y_os["time"], 300.0))
    assert default_times([SarculatorCoxPH().fit(cohort.X, y)]) == [150.0, 270.0]


def test_the_page_shows_provenance_labels_and_horizons(models, cohort, temp_root):
    card = {"estimator": "SarculatorCoxPH", "training": models["clinical_only"].training_summary_,
            "validation": {"c_index": 0.61, "ci_low": 0.55, "ci_high": 0.67, "method": "5-fold cross-validation"}}
    client = TestClient(create_app(models["os"], clinical_model=models["clinical_only"], temp_dir=temp_root,
                                   cards={"clinical_only": card}))
    page = client.get("/").text
    assert "trained on 40 patients with" in page and "time zero: not stated" in page
    assert "C-index 0.61 (95 % interval 0.55–0.67), 5-fold cross-validation" in page
    assert "no validation recorded in the model file" in page  # the OS network has none
    assert "Age at surgery" in page and ">High (grade 2, 3 or dedifferentiated)</option>" in page
    assert 'label="Undifferentiated pleomorphic sarcoma"' in page
    assert 'value="365,730,1825"' in page and "days since time zero (not stated by the models)" in page


def test_a_patient_far_outside_the_training_set_is_named(client, temp_root, cohort, cells):
    # ages 18-92 in training: no plausible age is "far" outside; a subtype none of them had is
    answer = post(client, temp_root, form(cells, cohort.X.index[5], histology="angiosarcoma")).json()
    for role in ("dm", "clinical_only"):  # the models that read the histology (the network does not)
        assert any(w.startswith("histology 'angiosarcoma' was not seen in training")
                   for w in answer[role]["warnings"]), answer[role]["warnings"]
    assert answer["warnings"] == []


# --------------------------------------------------------------------------- real browser


@pytest.fixture()
def live_server(models, temp_root):
    """The app under uvicorn on a free loopback port, in a thread."""
    import socket

    import uvicorn

    app = create_app(models["os"], dm_model=models["dm"], clinical_model=models["clinical_only"],
                     temp_dir=temp_root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)")
def test_the_page_in_headless_chromium(live_server, cohort, models, temp_root, tmp_path, monkeypatch):
    pytest.importorskip("selenium")
    from _browser import fill_and_predict, headless_chromium
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let selenium-manager look for a browser
    driver = headless_chromium()
    patient = cohort.X.index[4]
    try:
        fill_and_predict(driver, live_server, cohort.X.loc[patient])
        X = cohort.X.loc[[patient]]
        for role in ("os", "dm", "clinical_only"):
            model = models[role]
            survival = model.predict_survival_function(X)[0]([365, 730, 1825])
            # shown with one decimal (JavaScript's toFixed rounds halves up, Python's format to even)
            shown = [driver.find_element(By.ID, f"{role}-survival-{i}").text for i in range(3)]
            assert all(text.endswith(" %") for text in shown)
            np.testing.assert_allclose([float(t[:-2]) for t in shown], 100 * survival, atol=0.05 + 1e-9)
            percentile = _percentile(model.training_risks_, model.predict(X)[0])
            shown = float(driver.find_element(By.ID, f"{role}-percentile").text)
            assert shown == pytest.approx(percentile, abs=0.05 + 1e-9)
        # what a clinician reads: intervals and their method, no raw risk score, provenance, labels
        for role in ("dm", "clinical_only"):
            assert driver.find_element(By.ID, f"{role}-interval-0").text.startswith(" (") or \
                driver.find_element(By.ID, f"{role}-interval-0").text.startswith("(")
        assert "no interval" in driver.find_element(By.ID, "os-interval-method").text
        assert "risk score" not in driver.find_element(By.ID, "result").text
        assert "trained on 40 patients" in driver.find_element(By.ID, "provenance").text
        assert driver.find_element(By.CSS_SELECTOR, "label[for=field-grade]").text == "Grade (FNCLCC)"
        assert driver.find_element(By.ID, "gradcam").get_attribute("src").startswith("data:image/png")
        assert driver.execute_script("return document.getElementById('gradcam').naturalWidth") > 100
        screenshot = Path(os.environ.get("SARCOMA_SURVIVAL_WEB_SCREENSHOT", tmp_path / "web_result.png"))
        assert driver.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 10_000
        # a bad value is shown as the server's message, next to the field
        age = driver.find_element(By.NAME, "age")
        age.clear()
        age.send_keys("sixty")
        driver.find_element(By.ID, "predict-button").click()
        WebDriverWait(driver, 60).until(expected_conditions.visibility_of_element_located((By.ID, "error")))
        assert "column 'age' must be numeric" in driver.find_element(By.ID, "error").text
        assert "invalid" in age.get_attribute("class")
    finally:
        driver.quit()
    assert list(temp_root.iterdir()) == []


@pytest.mark.realdata
def test_a_zipped_dicom_series_with_an_rtstruct_mask(validation_dir, models, cohort, cells, temp_root, tmp_path):
    """Real TCIA DICOM (raw_STS_001): T1 and T2 series zipped, RTSTRUCT mask as one .dcm file."""
    raw = validation_dir / "sts_tcia" / "raw_STS_001"

    def zipped(folder):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"series/{path.name}")
        return buffer.getvalue()

    parts = form(cells, cohort.X.index[0], images=False)
    parts["t1"] = ("t1.zip", zipped(raw / "MR_T1" / "image"))
    parts["t2"] = ("t2.zip", zipped(raw / "MR_T2" / "image"))
    parts["mask"] = ("rtstruct.dcm", (raw / "MR_T1" / "mask" / "1-1.dcm").read_bytes())
    client = TestClient(create_app(models["os"], max_upload_mb=100, temp_dir=temp_root))
    answer = post(client, temp_root, parts)
    assert answer.status_code == 200, answer.text
    X = cohort.X.loc[[cohort.X.index[0]]].copy()
    X["t1"], X["t2"] = str(raw / "MR_T1" / "image"), str(raw / "MR_T2" / "image")
    X["mask"] = str(raw / "MR_T1" / "mask" / "1-1.dcm")
    expected = models["os"].predict_survival_function(X)[0]([365, 730, 1825])
    np.testing.assert_allclose(answer.json()["survival"], expected, atol=1e-9)


def test_a_model_fitted_on_a_competing_outcome_is_refused_at_start(cohort):
    # It would have passed the attribute checks and failed at the first request (no
    # baseline_model_); the page cannot show its incidence, so it is refused up front.
    from sarcoma_survival.competing_risks import SarculatorFineGray

    mlp = ClinicalMLPSurvival(max_epochs=1, random_state=0).fit(cohort.X, cohort.y_dm_competing)
    for model in (mlp, SarculatorFineGray(min_frequency=2).fit(cohort.X, cohort.y_dm_competing)):
        with pytest.raises(ValueError, match=r"the dm model .* fitted on a competing-risks outcome"):
            create_app(SarculatorCoxPH().fit(cohort.X, cohort.y_os), dm_model=model)
