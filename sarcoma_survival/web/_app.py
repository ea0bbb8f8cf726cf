"""The FastAPI application: the page at ``/`` and the JSON API under ``/api``."""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..utils import error_line
from ._provenance import provenance
from ._service import DEFAULT_MAX_VOXELS, PredictionService
from ._uploads import InputError, read_multipart

logger = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent

#: Default upload limit of one request, in MB (``--max-upload-mb``).
DEFAULT_MAX_UPLOAD_MB = 200


def create_app(os_model, *, dm_model=None, clinical_model=None, max_upload_mb=DEFAULT_MAX_UPLOAD_MB,
               temp_dir=None, max_voxels=DEFAULT_MAX_VOXELS, cards=None):
    """Build the web application around fitted models (loaded once, copied privately).

    Parameters
    ----------
    os_model : fitted survival estimator
        The overall-survival model (any estimator of the toolkit, fitted with this
        version so that it holds ``training_risks_``).
    dm_model : fitted survival estimator, optional
        A distant-metastasis model: adds the DM-free curve (``"dm"`` in the answer).
    clinical_model : fitted survival estimator, optional
        A clinical-only OS model shown side by side (``"clinical_only"``).
    max_upload_mb : float, default=200
        Largest request body accepted, enforced while it is read (HTTP 413 beyond).
    temp_dir : str or Path, optional
        Parent of the private per-request folders (default: the system temp folder);
        each request's folder is removed when its answer is ready.
    max_voxels : int, default=2**26
        Largest number of voxels of one uploaded image (512 x 512 x 256), checked from its
        header before the request waits for the models (HTTP 422 beyond).
    cards : dict, optional
        Role (``"os"``, ``"dm"``, ``"clinical_only"``) -> the model card of its model file
        (:func:`~sarcoma_survival.read_model_card`), whose validation the page shows; a model
        without one gets the card of the fitted model itself (cohort and training, no
        validation).

    Returns
    -------
    fastapi.FastAPI
        The application, ready for uvicorn (:func:`~sarcoma_survival.web.serve` runs it) or FastAPI's TestClient.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from sarcoma_survival import SarculatorCoxPH
    >>> from sarcoma_survival.datasets import make_synthetic_cohort
    >>> from sarcoma_survival.web import create_app
    >>> import tempfile
    >>> cohort = make_synthetic_cohort(60, image_size=16, data_dir=tempfile.mkdtemp())
    >>> app = create_app(SarculatorCoxPH().fit(cohort.X, cohort.y_os))
    >>> client = TestClient(app)
    >>> answer = client.post("/api/predict", files={"age": (None, "61"), "grade": (None, "high")}).json()
    >>> sorted(answer)[:4], answer["times"]
    (['curves_png', 'interval_method', 'outcome', 'risk'], [365.0, 730.0, 1825.0])
    >>> client.post("/api/predict", files={"grade": (None, "medium")}).json()["field"]
    'grade'
    """
    if not max_upload_mb > 0:
        raise ValueError(f"max_upload_mb must be positive, got {max_upload_mb!r}")
    limit_bytes = int(max_upload_mb * 2**20)
    service = PredictionService(os_model, dm_model=dm_model, clinical_model=clinical_model,
                                max_voxels=max_voxels, cards=cards)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    app = FastAPI(title="sarcoma_survival", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.service = service
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    def error(status, detail, field=None):
        return JSONResponse({"detail": detail, "field": field}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc):
        return error(422, "the request is not valid")

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request):
        schema = service.schema()["fields"]
        return templates.TemplateResponse(request, "index.html", {
            "fields": [f for f in schema if f["type"] != "file"],
            "files": [f for f in schema if f["type"] == "file"],
            "times": ",".join(f"{t:g}" for t in service.times),
            "models": service.describe(),
            "provenance": provenance(service.cards),
            "time_origin": service.time_origin(),
            "max_upload_mb": max_upload_mb,
            "version": __version__,
        })

    @app.get("/api/health")
    async def health():
        return {"status": "ok", "version": __version__, "models": service.describe(),
                "max_upload_mb": max_upload_mb}

    @app.get("/api/schema")
    async def schema():
        return service.schema()

    @app.post("/api/predict")
    async def predict(request: Request):
        folder = Path(tempfile.mkdtemp(prefix="sarcoma-survival-", dir=temp_dir))
        try:
            fields, files, _ = await read_multipart(request, folder, limit_bytes)
            times = fields.pop("times", None)
            answer = await run_in_threadpool(service.predict, fields, files, folder, limit_bytes, times)
            return JSONResponse(answer)
        except InputError as exc:
            return error(exc.status, _one_line(exc, folder), exc.field)
        except (ValueError, OSError) as exc:  # unreadable or inconsistent images, from the models
            return error(422, _one_line(exc, folder), _field_of(exc))
        except Exception as exc:  # noqa: BLE001 - never log the message: it may hold patient values
            logger.error("prediction failed with %s (details withheld: they may hold patient data)",
                         type(exc).__name__)
            return error(500, f"internal error ({type(exc).__name__}); the server keeps running")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return app


def _one_line(exc, folder):
    """The error's first line, with the private folder's path left out."""
    return error_line(exc, hide=(f"{folder}/", str(folder)))


def _field_of(exc):
    """The image field an image-reading error names (``column 't1'``), if any."""
    text = str(exc)
    for column in ("t1", "t2", "mask"):
        if f"column {column!r}" in text or f"'{column}" in text:
            return column
    return None
