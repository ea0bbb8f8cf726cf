"""The ``sarcoma-survival`` command line.

Every sub-command but ``demo`` takes a manifest CSV (the cohort table of the user guide) as its first argument.
Every failure (a bad manifest, a missing image, an unknown model, a wrong option value)
prints one line on stderr and exits with status 2; ``--traceback`` shows the full Python
traceback instead. Models are written and read as safe model files
(:func:`sarcoma_survival.save_model`); a pickle/joblib model file is read only with
``--allow-pickle``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
import time
import warnings

from ._config import config_context
from ._schema import NORMALIZE_REGIONS, TIME_ORIGINS, canonical_time_origin, parse_number

_OUTCOMES = ("os", "dm")
_PROG = "sarcoma-survival"


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (``sarcoma-survival fit: error: ...``), status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole(low=None, high=None, *, zero=True):
    """An argparse type: a whole number from ``low`` (to ``high``); ``zero=False`` refuses 0."""
    if low is None:
        bounds = "other than 0 (-1: all cores)"
    else:
        bounds = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text):
        try:
            value = parse_number(text)
        except ValueError:
            value = math.nan
        if (not value.is_integer() or (low is not None and value < low)
                or (high is not None and value > high) or (not zero and value == 0)):
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, got {text!r}")
        return int(value)

    parse.__name__ = "whole number"
    return parse


_positive_int = _whole(1)
_port = _whole(1, 65535)
_seed = _whole(0, 2**32 - 1)  # numpy's seeds
_n_jobs = _whole(zero=False)  # joblib: -1 all cores, -2 all but one; 0 is not a count


def _positive_float(text):
    try:
        value = parse_number(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _days(text):
    """``"365,1825"`` -> ``[365.0, 1825.0]``: finite, positive days."""
    values = []
    for item in text.split(","):
        try:
            value = parse_number(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated days such as 365,1825; {item.strip()!r} is not a number"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated days > 0; got {item.strip()!r}"
            )
        values.append(value)
    return values


def _time_origin(text):
    """An argparse type: a time origin in its canonical spelling (``"Date of surgery"`` -> ``surgery``)."""
    try:
        return canonical_time_origin(text, where="--time-origin")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--time-origin: ")) from None


def _image_options(args):
    """The ``VolumePreprocessor`` parameters given by ``--image-size``, ``--no-n4``, ``--normalize``."""
    options = {}
    if getattr(args, "image_size", None) is not None:
        options["size"] = args.image_size
    if getattr(args, "n4", None) is not None:
        options["n4"] = args.n4
    if getattr(args, "normalize", None) is not None:
        options["normalize"] = None if args.normalize == "none" else args.normalize
    return options


def _option_names(options):
    names = {"size": "--image-size", "n4": "--no-n4", "normalize": "--normalize"}
    return ", ".join(names[k] for k in options)


def _check_model_names(names):
    """Refuse an unknown model name before anything is imported."""
    from ._registry import MODELS

    for name in names:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def _make_model(name, params=None, images=None):
    """A registry model with ``--param`` values and the shared image options, and whether it took them.

    Flat parameters go to the constructor. The model's default image preprocessing
    (``preprocessor="auto"``, a radiomics model's default extractor) is made concrete when
    image options or nested parameters (``preprocessor__size=32``) need it, and then the
    nested parameters are set.
    """
    from ._registry import make_model, set_image_options

    params = params or {}
    nested = {k: v for k, v in params.items() if "__" in k}
    model = make_model(name, **{k: v for k, v in params.items() if "__" not in k})
    used = False
    if images or any(k.split("__", 1)[0] in ("preprocessor", "extractor") for k in nested):
        used = bool(set_image_options(model, images))
    params_now = model.get_params(deep=False)
    for key, value in nested.items():
        head, rest = key.split("__", 1)
        part = params_now.get(head)
        if "max_epochs" in params_now and hasattr(part, "set_params") and not isinstance(part, type):
            part.set_params(**{rest: value})  # skorch routes only its own prefixes (module__, optimizer__, ...)
        else:
            model.set_params(**{key: value})
    return model, used


def _unused_images(images, what):
    warnings.warn(f"{_option_names(images)} not used: {what}", UserWarning, stacklevel=2)


def _show_progress(model, *, every_epochs):
    """Progress output of a model the command fits: a line per neural fit, bars of the image readers.

    A neural network gets :class:`~sarcoma_survival.nn.FitSummary` (one line when a fit ends;
    with ``every_epochs``, also one per tenth of its epochs), its default image preprocessor
    and a radiomics model's default extractor become the same objects with ``verbose=1``
    (a bar with the seconds per patient and the time left). Nothing that changes a result:
    ``verbose`` is not part of any cache key.
    """
    from ._registry import set_image_options
    from .utils import walk_estimators

    params = model.get_params(deep=False)
    if "max_epochs" in params:  # a skorch network
        from .nn import FitSummary

        callbacks = params.get("callbacks")
        if callbacks != "disable":
            every = max(1, params["max_epochs"] // 10) if every_epochs else None
            model.set_params(callbacks=[*(callbacks or []), ("fit_summary", FitSummary(every=every))])
        if isinstance(params.get("preprocessor"), str):
            set_image_options(model)  # "auto" -> the VolumePreprocessor fit would build
    if "extractor" in params and params["extractor"] is None:
        from .radiomics import RadiomicsExtractor

        model.set_params(extractor=RadiomicsExtractor())  # what fit would build
    for part in walk_estimators(model, params=True):
        part_params = part.get_params(deep=False)
        if "cache_dir" in part_params and "verbose" in part_params and "max_epochs" not in part_params:
            part.set_params(verbose=1)
    return model


def _check_image_options(model, images):
    """``evaluate`` / ``explain``: the image options must be those the model was fitted with."""
    if not images:
        return
    from .preprocessing import VolumePreprocessor
    from .radiomics import RadiomicsExtractor
    from .utils import walk_estimators

    parts = list(walk_estimators(model))
    # a radiomics extractor reads the images on their own grid: no size to check
    native = {id(p) for e in parts if isinstance(e, RadiomicsExtractor) for p in walk_estimators(e)}
    fitted = [part for part in parts if isinstance(part, VolumePreprocessor)]
    if not fitted:
        _unused_images(images, "the model has no image preprocessing")
        return
    for pre in fitted:
        for key, value in images.items():
            if key == "size" and id(pre) in native:
                continue
            if pre.get_params()[key] != value:
                option = _option_names({key: value})
                raise ValueError(
                    f"{option} says {value!r} but the model preprocesses its images with {key}="
                    f"{pre.get_params()[key]!r} (fixed when it was fitted); give the options of its fit, or none"
                )


def _origin_note(model):
    """``"days since surgery"``: how the model's times are counted (its ``time_origin_``)."""
    from .utils.validation import time_since_label

    return time_since_label(getattr(model, "time_origin_", None))


def _origin_line(model):
    """One line on the model's time origin, and how to state one that is missing."""
    from ._schema import TIME_ORIGIN_NOT_STATED

    if getattr(model, "time_origin_", TIME_ORIGIN_NOT_STATED) == TIME_ORIGIN_NOT_STATED:
        return ("time origin: not stated (give the manifest a time_origin column, or --time-origin, so that "
                "the model and its outputs say what day 0 is)")
    return f"time origin: {model.time_origin_} (times are {_origin_note(model)})"


def _check_time_origin(model, cohort, what):
    """Warn when the cohort counts its times from another day 0 than the model's training cohort."""
    from ._schema import TIME_ORIGIN_NOT_STATED

    trained = getattr(model, "time_origin_", TIME_ORIGIN_NOT_STATED)
    stated = cohort.get("time_origin", TIME_ORIGIN_NOT_STATED)
    if TIME_ORIGIN_NOT_STATED not in (trained, stated) and trained != stated:
        warnings.warn(f"the model counts time from {trained}, this manifest from {stated}: {what}",
                      UserWarning, stacklevel=2)


def _attach_option_values(argv):
    """``--times -100`` -> ``--times=-100``, so that argparse reads a value, not an option."""
    argv = list(argv)
    out = []
    i = 0
    while i < len(argv):
        if argv[i] == "--times" and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"--times={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def _parse_params(pairs):
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values parsed as JSON when possible)."""
    params = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def _target(bunch, outcome):
    y = bunch.get(f"y_{outcome}")
    if y is None:
        raise ValueError(f"the manifest has no {outcome.upper()} outcome columns")
    return y


def _cmd_demo(args):
    from ._demo import run_demo

    run_demo(
        output=args.output,
        n_patients=args.n_patients,
        n_test=args.n_test,
        image_size=args.image_size,
        models=args.models,
        max_epochs=args.max_epochs,
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        verbose=not args.quiet,
        net=args.net,
    )
    return 0


def _cmd_preprocess(args):
    from .datasets import load_cohort
    from .preprocessing import VolumePreprocessor

    cohort = load_cohort(args.manifest)
    pre = VolumePreprocessor(nonfinite=args.nonfinite, max_voxels=args.max_voxels, n_jobs=args.n_jobs,
                             verbose=not args.quiet).set_params(**_image_options(args))
    start = time.perf_counter()
    volumes = pre.fit(cohort.X).transform(cohort.X)
    print(
        f"preprocessed {len(volumes)} patients into shape {tuple(volumes.shape[1:])} "
        f"in {time.perf_counter() - start:.1f} s"
    )
    return 0


def _cmd_fit(args):
    from ._output_paths import check_output_file

    params = _parse_params(args.param)
    _check_model_names([args.model])
    output = check_output_file(args.output or f"{args.model}-{args.outcome}.ssm", inputs=[args.manifest])
    # the arguments are checked: now the model's own imports (torch for a neural one) and the data
    from ._model_io import save_model
    from .datasets import load_cohort

    images = _image_options(args)
    model, used = _make_model(args.model, params, images)
    if images and not used:
        _unused_images(images, f"model {args.model!r} has no image preprocessing that takes them")
    if args.n_jobs is not None:
        model.set_params(**{k: args.n_jobs for k in model.get_params(deep=True) if k.endswith("n_jobs")})
    if not args.quiet:
        _show_progress(model, every_epochs=True)
    cohort = load_cohort(args.manifest, time_origin=args.time_origin)
    # every image reader, defaults built in fit too
    with config_context(nonfinite=args.nonfinite, max_voxels=args.max_voxels):
        model.fit(cohort.X, _target(cohort, args.outcome))
    save_model(model, output)
    print(f"fitted {args.model} on {len(cohort.X)} patients ({args.outcome.upper()}); saved {output}")
    print(_origin_line(model))
    return 0


def _load_model(args, path=None):
    """The model file ``path`` (default ``--model-file``): the safe model format, pickle/joblib
    only with ``--allow-pickle``."""
    from ._model_io import load_model

    return load_model(args.model_file if path is None else path, allow_pickle=args.allow_pickle)


def _model_card_brief(args):
    """The model file's card in two lines (stdout)."""
    from ._model_card import format_model_card

    for line in format_model_card(_card_or_none(args.model_file), brief=True):
        print(line)


def _card_or_none(path):
    """The model file's card; None for a pickle (no manifest) or a file written before cards."""
    from ._model_io import read_model_card

    try:
        return read_model_card(path)
    except ValueError:
        return None


def _cmd_info(args):
    from ._model_card import format_model_card
    from ._model_io import read_model_card

    for line in format_model_card(read_model_card(args.model_file)):
        print(line)
    return 0


def _cmd_predict(args):
    import numpy as np
    import pandas as pd

    from ._output_paths import check_output_file
    from .datasets import load_cohort
    from .preprocessing import warn_out_of_training_range
    from .utils import atomic_path, check_follow_up_times, curve_values

    output = check_output_file(args.output or "predictions.csv", inputs=[args.manifest, args.model_file])
    cohort = load_cohort(args.manifest)
    model = _load_model(args)
    if args.times:
        _check_time_origin(model, cohort, "--times count days from the model's")
    _model_card_brief(args)
    warn_out_of_training_range(model, cohort.X)
    risk = model.predict(cohort.X)
    table = pd.DataFrame({"risk": risk}, index=cohort.X.index)
    if args.times:
        curves = model.predict_survival_function(cohort.X)
        # one model, one training follow-up (the same for every patient): the web service's rule
        check_follow_up_times(curves[0], args.times)
        values = np.array([curve_values(fn, args.times, clip=True) for fn in curves]).reshape(len(curves), -1)
        for column, t in enumerate(args.times):
            table[f"survival_{t:g}d"] = values[:, column]
    with atomic_path(output) as tmp:
        table.to_csv(tmp)
    times = f" (survival at {_origin_note(model)})" if args.times else ""
    print(f"wrote predictions for {len(table)} patients to {output}{times}")
    return 0


def _cmd_evaluate(args):
    from .datasets import load_cohort
    from .metrics import (
        UndefinedConcordanceWarning,
        bootstrap_concordance,
        concordance_index,
    )
    from .preprocessing import warn_out_of_training_range

    cohort = load_cohort(args.manifest)
    model = _load_model(args)
    _check_image_options(model, _image_options(args))
    _check_time_origin(model, cohort, "its predictions are scored against times from another day 0")
    _model_card_brief(args)
    warn_out_of_training_range(model, cohort.X)
    y = _target(cohort, args.outcome)
    risk = model.predict(cohort.X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedConcordanceWarning)
        try:
            c = concordance_index(y, risk)
        except UndefinedConcordanceWarning as exc:
            raise ValueError(
                f"cannot evaluate on {len(y)} patient(s) with {int(y['event'].sum())} "
                f"{args.outcome.upper()} event(s): {exc}"
            ) from None
    with warnings.catch_warnings():  # resamples without a comparable pair are left out of the SD
        warnings.simplefilter("ignore", UndefinedConcordanceWarning)
        sd = bootstrap_concordance(y, risk, random_state=0).sd
    print(f"{args.outcome.upper()} Harrell C-index on {len(y)} patients: {c:.3f} (bootstrap SD {sd:.3f})")
    return 0


def _cmd_explain(args):
    from ._output_paths import check_output_folder
    from .datasets import load_cohort
    from .explain import save_gradcam

    output = check_output_folder(args.output or "gradcam")
    cohort = load_cohort(args.manifest)
    model = _load_model(args)
    _check_image_options(model, _image_options(args))
    patients = args.patients.split(",") if args.patients else list(cohort.X.index[: args.n_patients])
    unknown = [p for p in patients if p not in cohort.X.index]
    if unknown:
        raise ValueError(f"patient(s) not in the manifest: {', '.join(unknown)}")
    written = save_gradcam(model, cohort.X.loc[patients], output, nifti=args.nifti, method=args.method)
    print(f"wrote {len(written)} heat-map files to {output}")
    return 0


def _cmd_serve(args):
    try:
        from .web import serve
    except ImportError as exc:
        raise ImportError(
            f"serve needs the web extra ({exc.name} is missing): pip install 'sarcoma-survival[web]'"
        ) from None
    models = {"os_model": _load_model(args)}
    cards = {"os": _card_or_none(args.model_file)}
    if args.dm_model_file:
        models["dm_model"] = _load_model(args, args.dm_model_file)
        cards["dm"] = _card_or_none(args.dm_model_file)
    if args.clinical_model_file:
        models["clinical_model"] = _load_model(args, args.clinical_model_file)
        cards["clinical_only"] = _card_or_none(args.clinical_model_file)
    serve(**models, host=args.host, port=args.port, max_upload_mb=args.max_upload_mb, max_voxels=args.max_voxels,
          cards=cards)
    return 0


def _seeded(model, random_state):
    """Set ``random_state`` on a model that has one (so a comparison is reproducible)."""
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=random_state)
    return model


def _cmd_compare(args):
    from ._output_paths import check_output_file
    from ._registry import model_names

    if args.output:
        check_output_file(args.output, inputs=[args.manifest])
    names = args.models.split(",") if args.models else model_names()
    _check_model_names(names)
    if args.reference is not None and args.reference not in names:
        raise ValueError(f"--reference {args.reference!r} is not one of the compared models: {', '.join(names)}")
    if args.reference is not None and not args.seeds:
        raise ValueError("--reference needs --seeds: its interval is over the seeds")
    # the arguments are checked: now the models' own imports and the data
    from .compare import compare_models
    from .datasets import load_cohort

    images = _image_options(args)
    models, used = {}, False
    for name in names:  # the image options are for the models that read images
        model, took = _make_model(name, images=images)
        if not args.quiet:
            _show_progress(model, every_epochs=False)
        models[name], used = _seeded(model, args.random_state), used or took
    if images and not used:
        _unused_images(images, "none of the compared models preprocesses images")
    cohort = load_cohort(args.manifest, time_origin=args.time_origin)
    ys = {o.upper(): _target(cohort, o) for o in args.outcomes.split(",")}
    with config_context(nonfinite=args.nonfinite, max_voxels=args.max_voxels):
        table = compare_models(cohort.X, ys, models=models, cv=args.cv, random_state=args.random_state,
                               random_states=args.seeds, reference=args.reference, n_jobs=args.n_jobs,
                               verbose=0 if args.quiet else 1)
    print(table.to_string())
    print(f"time origin: {cohort.time_origin}")
    if args.output:
        from .utils import atomic_path

        with atomic_path(args.output) as tmp:
            table.to_csv(tmp)
        print(f"saved {args.output}")
    return 0


def _cmd_manifest(args):
    from ._output_paths import check_output_file
    from .datasets import build_manifest

    inputs = [args.clinical] if args.clinical else []
    output = check_output_file(args.output, inputs=inputs)
    report = check_output_file(args.report, inputs=inputs, option="--report") if args.report else None
    rules = {role: getattr(args, role) for role in ("t1", "t2", "mask") if getattr(args, role) is not None}
    built = build_manifest(args.root, output, clinical=args.clinical, id_column=args.id_column, rules=rules,
                           sequences=("t1",) if args.t1_only else ("t1", "t2"), roi_name=args.roi_name,
                           mask_label=args.mask_label, measure=args.measure, diameter=args.diameter,
                           report=report, verbose=not args.quiet, time_origin=args.time_origin)
    excluded = built.problems.loc[built.problems["status"] == "excluded", "patient_id"].nunique()
    print(f"wrote {built.manifest} ({len(built.table)} patients); {excluded} patient(s) left out, "
          f"{len(built.problems)} line(s) in {built.report}")
    return 0


def _cmd_report(args):
    from pathlib import Path

    from ._output_paths import check_output_file
    from .datasets import load_cohort
    from .report import DEFAULT_HORIZONS, validation_report

    output = check_output_file(args.output, inputs=[args.manifest, args.model_file])
    cohort, model = load_cohort(args.manifest), _load_model(args)
    validation_report(model, cohort.X, _target(cohort, args.outcome.replace("-", "_")), output=output,
                      horizons=args.horizons or DEFAULT_HORIZONS, model_file=args.model_file,
                      cohort_name=Path(args.manifest).name, n_bootstraps=args.n_bootstraps,
                      gradcam=args.gradcam, verbose=not args.quiet)
    print(f"wrote the validation report of {len(cohort.X)} patients to {output}")
    return 0


@contextlib.contextmanager
def _backend(scheduler):
    """Run the command under joblib's "dask" backend, connected to ``scheduler`` (None: locally)."""
    if scheduler is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError('--scheduler needs Dask: pip install "sarcoma-survival[dask]"') from exc
    import joblib

    with Client(scheduler, timeout="30s") as client, joblib.parallel_backend("dask"):
        print(f"running on the Dask scheduler {scheduler} ({len(client.scheduler_info()['workers'])} workers)")
        yield


def build_parser():
    """The argument parser of ``sarcoma-survival`` (exposed for the docs and tests).

    Examples
    --------
    >>> parser = build_parser()
    >>> parser.parse_args(["fit", "cohort.csv", "--model", "clinical-rsf"]).model
    'clinical-rsf'
    """
    from . import __version__
    from ._registry import MODELS

    parser = _Parser(
        prog=_PROG,
        description="Survival / metastasis models for soft-tissue sarcoma (MRI + clinical).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="synthetic cohort -> every model -> table and figures")
    demo.add_argument("--output",
                      help="run folder (default: ./sarcoma_survival_runs/demo-<date>-<time>)")
    demo.add_argument("--n-patients", type=_positive_int, default=287, help="training cohort size (287)")
    demo.add_argument("--n-test", type=_positive_int, default=200, help="fresh test cohort size (200)")
    demo.add_argument("--image-size", type=_positive_int, default=None,
                      help="edge of the synthetic images and of the image models' grid (32)")
    demo.add_argument("--models", default=None,
                      help="comma-separated model names (default: every registered one)")
    demo.add_argument("--max-epochs", type=_positive_int, default=None,
                      help="training epochs of the image models (12)")
    demo.add_argument("--net", choices=("compact", "densenet121"), default="compact",
                      help="image network size: a compact DenseNet (default, CPU-sized) or the "
                           "paper's DenseNet-121")
    demo.add_argument("--random-state", type=_seed, default=0,
                      help="seed of the training cohort and the models; the test cohort uses +1")
    demo.add_argument("--n-jobs", type=_n_jobs, default=-1, help="processes (-1: all cores)")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(func=_cmd_demo)

    def with_manifest(name, help_text, func):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("manifest", help="manifest CSV (patient_id, clinical columns, t1/t2/mask, outcomes)")
        p.set_defaults(func=func)
        return p

    def with_nonfinite(p):
        p.add_argument("--nonfinite", choices=["error", "fill"], default="error", metavar="POLICY",
                       help="NaN or infinite voxels in a T1/T2 file (NRRD, MHA): 'error' names the patient "
                            "and file (default); 'fill' replaces them by 0 with a warning giving their number")
        p.add_argument("--max-voxels", type=_positive_int, metavar="N", default=None,
                       help="largest input image in voxels, checked from its header before reading "
                            "(default 268435456 = 2**28)")

    def with_images(p):
        """The image options shared by preprocess, fit, compare, evaluate and explain."""
        g = p.add_argument_group(
            "image options", "settings of the image preprocessing (VolumePreprocessor) of the models that read "
            "images; give the same ones to preprocess, fit and compare (evaluate and explain check them "
            "against the model file)")
        g.add_argument("--image-size", type=_positive_int, metavar="N", default=None,
                       help="edge of the image networks' input grid in voxels (48); radiomics read the "
                            "images on their own grid")
        g.add_argument("--no-n4", dest="n4", action="store_false", default=None,
                       help="skip the N4 bias-field correction (for images already corrected)")
        g.add_argument("--normalize", choices=(*NORMALIZE_REGIONS, "none"), default=None, metavar="REGION",
                       help="region of the z-score normalisation: " + ", ".join(NORMALIZE_REGIONS)
                            + " (default foreground), or none")

    def with_time_origin(p):
        p.add_argument("--time-origin", type=_time_origin, metavar="DAY0", default=None,
                       help="day 0 of os_time and dm_time, for a manifest without a time_origin column: "
                            + ", ".join(TIME_ORIGINS) + " (default: the manifest's, else not stated)")

    def with_parallel(p):
        p.add_argument("--n-jobs", type=_n_jobs, default=None,
                       help="parallel jobs (joblib; default 1, or the Dask cluster's with --scheduler; -1: all cores)")
        p.add_argument("--scheduler", metavar="ADDR",
                       help="run on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (needs the dask extra)")

    p = with_manifest("preprocess", "preprocess and cache the images of a cohort", _cmd_preprocess)
    with_images(p)
    with_parallel(p)
    with_nonfinite(p)
    p.add_argument("--quiet", action="store_true")

    def with_model_file(p):
        p.add_argument("--model-file", required=True, help="model file written by fit (save_model)")
        p.add_argument("--allow-pickle", action="store_true",
                       help="also read a pickle/joblib model file; this runs code stored in the "
                            "file: only for a file you trust")

    p = sub.add_parser("info", help="print a model file's model card: training cohort, inputs, validation")
    p.add_argument("model_file", help="model file written by fit (save_model)")
    p.set_defaults(func=_cmd_info)

    p = with_manifest("fit", "fit a model and save it as a safe model file", _cmd_fit)
    p.add_argument("--model", required=True, metavar="NAME", help="one of: " + ", ".join(MODELS))
    p.add_argument("--outcome", choices=_OUTCOMES, default="os")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="estimator parameter")
    p.add_argument("--output", help="model file (default: <model>-<outcome>.ssm)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (a neural network's line every tenth of its epochs and at the "
                        "end, the image readers' bars)")
    with_time_origin(p)
    with_images(p)
    with_parallel(p)
    with_nonfinite(p)

    p = with_manifest("predict", "risks (and survival probabilities) to CSV", _cmd_predict)
    with_model_file(p)
    p.add_argument("--times", type=_days,
                   help="comma-separated days for survival probabilities, e.g. 365,1825")
    p.add_argument("--output", help="CSV path (default: predictions.csv)")

    p = with_manifest("evaluate", "C-index (bootstrap SD) of a saved model", _cmd_evaluate)
    with_model_file(p)
    p.add_argument("--outcome", choices=_OUTCOMES, default="os")
    with_images(p)

    p = with_manifest("explain", "Grad-CAM heat maps of a saved neural model", _cmd_explain)
    with_model_file(p)
    p.add_argument("--method", choices=("gradcam", "integrated-gradients"), default="gradcam",
                   help="Grad-CAM (default) or integrated gradients from the blurred image (voxel-fine)")
    p.add_argument("--patients", help="comma-separated patient ids (default: the first few)")
    p.add_argument("--n-patients", type=_positive_int, default=3,
                   help="how many patients when --patients is not given (3)")
    p.add_argument("--nifti", action="store_true", help="also write NIfTI maps on the T1 grid")
    p.add_argument("--output", help="folder (default: gradcam)")
    with_images(p)

    p = with_manifest("compare", "the paper's Table 3 by cross-validation", _cmd_compare)
    p.add_argument("--models", help="comma-separated model names (default: every registered one)")
    p.add_argument("--outcomes", default="os,dm")
    p.add_argument("--cv", type=_whole(2), default=5, help="number of folds (>= 2; 5)")
    p.add_argument("--random-state", type=_seed, default=0,
                   help="seed of the folds, the bootstrap and every model (0)")
    p.add_argument("--seeds", type=_seed, nargs="+", metavar="SEED",
                   help="refit every model that has a random_state once per seed on the same folds: "
                        "means and seed-to-seed SDs (instead of --random-state for the models)")
    p.add_argument("--reference", metavar="MODEL",
                   help="with --seeds: each row's paired C-index difference with this model and its "
                        "95%% interval over the seeds")
    p.add_argument("--output", help="CSV path for the table")
    p.add_argument("--quiet", action="store_true",
                   help="no progress line per fit (model, fold, fit seconds, C-index, time left) on stderr")
    with_time_origin(p)
    with_images(p)
    with_parallel(p)
    with_nonfinite(p)

    p = with_manifest("report", "external validation report of a saved model: one HTML file", _cmd_report)
    with_model_file(p)
    p.add_argument("--output", default="report.html", help="HTML file (report.html)")
    p.add_argument("--outcome", choices=("os", "dm", "dm-competing"), default="os")
    p.add_argument("--horizons", type=_days, help="comma-separated days (default 365,1095,1825)")
    p.add_argument("--n-bootstraps", type=_whole(2), default=1000, help="C-index resamples (1000)")
    p.add_argument("--gradcam", type=_whole(0), default=0, metavar="N", help="Grad-CAM of N patients (image models)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("manifest", help="folder tree of patients (DICOM, RTSTRUCT/SEG, NIfTI) -> manifest CSV "
                                        "+ report of the patients left out")
    p.add_argument("root", help="folder holding one folder per patient (its name is the patient id)")
    p.add_argument("--output", default="manifest.csv", help="manifest CSV to write (manifest.csv)")
    p.add_argument("--report", help="report CSV (default: <output stem>-report.csv)")
    p.add_argument("--clinical", metavar="CSV",
                   help="clinical table merged by patient id (clinical and outcome columns)")
    p.add_argument("--id-column", default="patient_id", help="patient id column of --clinical (patient_id)")
    for role, what in (("t1", "the T1"), ("t2", "the T2"), ("mask", "a mask file")):
        p.add_argument(f"--{role}", metavar="REGEX",
                       help=f"regular expression that picks {what} (searched in '<SeriesDescription> | <folder>' "
                            "of a DICOM series, in the path of a file; case-insensitive)")
    p.add_argument("--t1-only", action="store_true", help="do not look for a T2 (T1-only cohort)")
    p.add_argument("--roi-name", default="GTV_Mass", help="ROI of an RTSTRUCT / segment of a SEG (GTV_Mass)")
    p.add_argument("--mask-label", type=_positive_int, help="tumour label of a multi-label mask file")
    p.add_argument("--measure", choices=("missing", "always", "never"), default="missing",
                   help="fill tumor_size_cm and tumor_volume_cm3 from the mask: where empty (default), always, never")
    p.add_argument("--diameter", choices=("centers", "corners"), default="centers",
                   help="largest diameter between voxel centres (default) or outer voxel corners")
    p.add_argument("--quiet", action="store_true", help="no line per patient")
    p.add_argument("--time-origin", type=_time_origin, metavar="DAY0", default=None,
                   help="day 0 of the clinical table's os_time and dm_time, written as the manifest's time_origin "
                        "column: " + ", ".join(TIME_ORIGINS) + " (default: none written, not stated)")
    p.set_defaults(func=_cmd_manifest)

    p = sub.add_parser("serve", help="local web page and JSON API for one patient at a time")
    p.add_argument("--model-file", required=True, help="fitted OS model")
    p.add_argument("--dm-model-file", help="fitted distant-metastasis model (adds the DM-free curve)")
    p.add_argument("--clinical-model-file", help="fitted clinical-only OS model, shown side by side")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to bind (127.0.0.1: this computer only; others are warned about)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1 to 65535 (8000)")
    p.add_argument("--max-upload-mb", type=_positive_float, default=200,
                   help="largest upload per request in MB, enforced while reading (200)")
    p.add_argument("--max-voxels", type=_positive_int, metavar="N", default=1 << 26,
                   help="largest uploaded image in voxels, checked from its header (67108864 = 2**26)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="accept pickle/joblib model files, which run code when loaded (trusted files only)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv=None):
    """Entry point of ``sarcoma-survival``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(_attach_option_values(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    prefix = f"{_PROG} {args.command}"

    def show_warning(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip().splitlines()
        print(f"{prefix}: warning: {text[0] if text else category.__name__}", file=sys.stderr)

    from ._model_io import PickleModelFileWarning
    from .preprocessing import OutOfTrainingRangeWarning

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        warnings.simplefilter("always", PickleModelFileWarning)  # asked for: shown, never fatal
        warnings.simplefilter("always", OutOfTrainingRangeWarning)  # one per patient and quantity
        try:
            with _backend(getattr(args, "scheduler", None)):
                return args.func(args)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # every failure is one line (--traceback: all of it)
            if args.traceback:
                raise
            from .utils import error_line

            # a user's error is its message; anything else is unexpected: what it was, and how to see where
            print(f"{prefix}: error: {error_line(exc, hint='rerun with --traceback for details')}",
                  file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
