"""The TRIPOD+AI section: what the tool knows, and what the author must add.

Items follow the TRIPOD+AI checklist (Collins et al., BMJ 2024;385:e078378), condensed to one
line each in our own words; the official checklist is the reference when you report.
"""
from __future__ import annotations

#: (item, topic, what it asks), in the checklist's order. Items the report can fill are
#: named in :func:`tripod_checklist`; every other item is the author's to add.
ITEMS = (
    ("1", "Title", "Identify the study as developing or evaluating a prediction model, the population and outcome"),
    ("2", "Abstract", "See TRIPOD+AI for Abstracts"),
    ("3a-c", "Background", "Healthcare context, rationale and existing models; target population and intended "
                           "users; known health inequalities"),
    ("4", "Objectives", "Study objectives, including development and/or validation"),
    ("5a", "Data sources", "Sources of data (e.g. cohort, registry, trial) and why they are representative"),
    ("5b", "Dates", "Start and end of accrual and end of follow-up"),
    ("6a-c", "Participants", "Setting, eligibility criteria, treatments received"),
    ("7", "Data preparation", "Data pre-processing and quality checking, across groups"),
    ("8a", "Outcome", "Outcome predicted, its time horizon, how and when assessed"),
    ("8b-c", "Outcome assessment", "Qualifications of assessors, blinding to predictors"),
    ("9a", "Predictors", "Choice of initial predictors and any pre-selection"),
    ("9b-c", "Predictor assessment", "Definition, timing and blinding of predictor measurement"),
    ("10", "Sample size", "How the study size was arrived at"),
    ("11", "Missing data", "How missing data were handled, and why"),
    ("12a", "Analysis: data use", "How the data were used for development and evaluation"),
    ("12b-d", "Analysis: model", "Predictor handling, model type, building and internal validation, heterogeneity"),
    ("12e", "Analysis: performance measures", "Measures of performance, with their rationale"),
    ("12f-g", "Analysis: updating", "Any model updating (recalibration), how predictions were calculated"),
    ("13", "Class imbalance", "Methods for class imbalance and recalibration if used"),
    ("14", "Fairness", "Approaches to assess and address model fairness"),
    ("15", "Model output", "Output of the model (probabilities, risk groups) and thresholds"),
    ("16", "Training vs evaluation", "Differences between development and evaluation data"),
    ("17", "Ethics", "Ethics committee approval and consent"),
    ("18a-f", "Open science", "Funding, conflicts of interest, protocol, registration, data and code sharing"),
    ("19", "Patient and public involvement", "Involvement of patients and the public"),
    ("20a", "Participants: flow", "Flow of participants, with numbers with and without the outcome, follow-up"),
    ("20b", "Participants: characteristics", "Characteristics overall and by data source, including missing data"),
    ("20c", "Participants: comparison", "Comparison of the evaluation data with the development data"),
    ("21", "Model development", "Number of participants and outcome events in each analysis"),
    ("22", "Model specification", "Full model details (e.g. formula, code, object) so that it can be used"),
    ("23a", "Model performance", "Performance estimates with confidence intervals"),
    ("23b", "Performance in subgroups", "Results of any heterogeneity in performance across key subgroups"),
    ("24", "Model updating", "Results from any model updating"),
    ("25", "Interpretation", "Overall interpretation of the main results, including fairness"),
    ("26", "Limitations", "Limitations (non-representative sample, sample size, overfitting, missing data)"),
    ("27a-c", "Usability", "How poor-quality or unavailable input data are handled, user interaction, future research"),
)


def tripod_checklist(filled):
    """Rows ``(item, topic, what it asks, status, where)`` of the checklist.

    Parameters
    ----------
    filled : dict
        Item -> text saying what this report gives for it (and where). Items absent from it
        are marked "to add" for the author.

    Returns
    -------
    list of tuple

    Examples
    --------
    >>> from sarcoma_survival.report import tripod_checklist
    >>> rows = tripod_checklist({"23a": "Discrimination section"})
    >>> [row[3] for row in rows if row[0] in ("23a", "17")]
    ['to add', 'given by this report']
    """
    unknown = sorted(set(filled) - {item for item, _, _ in ITEMS})
    if unknown:
        raise ValueError(f"unknown TRIPOD+AI item(s) {', '.join(unknown)}")
    return [(item, topic, asks, "given by this report" if item in filled else "to add", filled.get(item, ""))
            for item, topic, asks in ITEMS]
