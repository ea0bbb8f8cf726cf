"""Running the application with uvicorn (the ``serve`` sub-command)."""
from __future__ import annotations

import logging

from ._app import DEFAULT_MAX_UPLOAD_MB, create_app
from ._service import DEFAULT_MAX_VOXELS

logger = logging.getLogger("sarcoma_survival.web")

_LOCAL = {"127.0.0.1", "localhost", "::1"}


def serve(os_model, *, dm_model=None, clinical_model=None, host="127.0.0.1", port=8000,
          max_upload_mb=DEFAULT_MAX_UPLOAD_MB, max_voxels=DEFAULT_MAX_VOXELS, cards=None):
    """Serve the page and API until interrupted.

    Parameters
    ----------
    os_model, dm_model, clinical_model
        Fitted models, see :func:`create_app`.
    host : str, default="127.0.0.1"
        Interface to bind. Anything but the loopback interface makes the page (and the
        patients' data sent to it, unencrypted) reachable from other machines: a warning
        is logged.
    port : int, default=8000
    max_upload_mb : float, default=200
    max_voxels : int, default=2**26
        Largest number of voxels of one uploaded image, see :func:`create_app`.
    cards : dict, optional
        Role -> model card of the model file, see :func:`create_app`.

    Examples
    --------
    >>> from sarcoma_survival.web import serve
    >>> serve(model, port=8000)  # doctest: +SKIP
    """
    import uvicorn

    app = create_app(os_model, dm_model=dm_model, clinical_model=clinical_model,
                     max_upload_mb=max_upload_mb, max_voxels=max_voxels, cards=cards)
    if host not in _LOCAL:
        logger.warning(
            "binding to %s: the page is reachable from other machines and traffic is not "
            "encrypted; use 127.0.0.1 unless this network is trusted", host)
    print(f"serving on http://{'[' + host + ']' if ':' in host else host}:{port}/ (Ctrl+C to stop)",
          flush=True)
    # The access log holds method, path and status only: no form field or file reaches it.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True)
