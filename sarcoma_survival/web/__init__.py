"""A local web page and JSON API for one patient (``sarcoma-survival serve``).

Needs the optional ``web`` extra (``pip install "sarcoma-survival[web]"``: FastAPI, uvicorn,
Jinja2, python-multipart). :func:`create_app` builds the application from fitted models;
:func:`serve` runs it with uvicorn, bound to 127.0.0.1 unless told otherwise.
"""
from ._app import create_app
from ._serve import serve

__all__ = ["create_app", "serve"]
