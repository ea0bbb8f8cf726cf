"""Negative Cox partial log-likelihood for torch, vectorized and tie-aware."""
from __future__ import annotations

import numpy as np
import torch

_TIES = ("breslow", "efron")


def _group_logsumexp(values, group, n_groups):
    """log(sum(exp(values))) within each group (groups given as 0..n_groups-1)."""
    shift = torch.full((n_groups,), -torch.inf, dtype=values.dtype, device=values.device)
    shift = shift.scatter_reduce(0, group, values.detach(), reduce="amax", include_self=True)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    total = torch.zeros(n_groups, dtype=values.dtype, device=values.device)
    total = total.index_add(0, group, torch.exp(values - shift[group]))
    return torch.log(total) + shift


def _as_tensor(values, device):
    if not torch.is_tensor(values):
        values = np.ascontiguousarray(values)  # fields of structured arrays are strided
    return torch.as_tensor(values, device=device)


def cox_ph_loss(log_risk, *, time, event, ties="breslow"):
    """Negative Cox partial log-likelihood, averaged over the observed events.

    The risk set of an event at time ``t`` holds every sample whose time is ``>= t``
    (censorings tied with an event at ``t`` are at risk at ``t``), so the value does not
    depend on the order of the samples. The computation groups equal times, takes a
    log-sum-exp per group and a reversed cumulative log-sum-exp over groups: memory is
    linear in the batch size and large log-risks do not overflow.

    ``time`` and ``event`` are keyword-only: with the two swapped, a Cox loss is no
    partial likelihood at all and training still runs (the defect of the authors' code
    that their C-index's opposite sign convention hid).

    Parameters
    ----------
    log_risk : torch.Tensor of shape (n_samples,) or (n_samples, 1)
        Predicted log hazard ratios (higher = earlier event).
    time : torch.Tensor or array-like of shape (n_samples,)
        Survival or censoring times.
    event : torch.Tensor or array-like of shape (n_samples,)
        Event indicator (bool or 0/1).
    ties : {"breslow", "efron"}, default="breslow"
        Approximation of the partial likelihood for tied event times.

    Returns
    -------
    loss : torch.Tensor
        A scalar. A batch without any event has no partial likelihood: the result is
        then 0, attached to ``log_risk`` so that its gradient is 0 (never NaN).

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.nn import cox_ph_loss
    >>> log_risk = torch.tensor([0.5, -0.2, 0.1], requires_grad=True)
    >>> loss = cox_ph_loss(log_risk, time=torch.tensor([2.0, 3.0, 5.0]), event=torch.tensor([1, 1, 0]))
    >>> round(loss.item(), 4)
    0.8138
    >>> loss.backward()
    """
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {_TIES}, got {ties!r}")
    log_risk = torch.as_tensor(log_risk)
    if log_risk.dim() == 2 and log_risk.shape[1] == 1:
        log_risk = log_risk[:, 0]
    if log_risk.dim() != 1:
        raise ValueError(f"log_risk must have shape (n,) or (n, 1), got {tuple(log_risk.shape)}")
    if not torch.is_floating_point(log_risk):
        log_risk = log_risk.float()
    device = log_risk.device
    time = _as_tensor(time, device).reshape(-1)
    event = _as_tensor(event, device).reshape(-1).to(torch.bool)
    n = log_risk.shape[0]
    if time.shape[0] != n or event.shape[0] != n:
        raise ValueError(
            f"log_risk, time and event must have the same length; got {n}, "
            f"{time.shape[0]} and {event.shape[0]}"
        )
    n_events = int(event.sum())
    if n_events == 0:
        return (log_risk * 0.0).sum()

    # Group equal times: group g = index of the time among the sorted unique times.
    _, group = torch.unique(time, sorted=True, return_inverse=True)
    n_groups = int(group.max()) + 1
    group_lse = _group_logsumexp(log_risk, group, n_groups)
    # log of the sum over the risk set {j: time_j >= time_g}: reversed cumulative LSE.
    risk_set_lse = torch.logcumsumexp(group_lse.flip(0), dim=0).flip(0)

    event_risk = log_risk[event]
    event_group = group[event]
    log_denominator = risk_set_lse[event_group]
    if ties == "efron":
        # Events tied at one time share the denominator S - (l / d) * E, l = 0..d-1,
        # with E the summed risk of the d tied events.
        tied_lse = _group_logsumexp(event_risk, event_group, n_groups)
        d = torch.zeros(n_groups, dtype=log_risk.dtype, device=device)
        d = d.index_add(0, event_group, torch.ones_like(event_risk))
        order = torch.argsort(event_group, stable=True)
        sorted_group = event_group[order]
        first = torch.searchsorted(sorted_group, sorted_group, right=False)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(n_events, device=device) - first
        fraction = rank.to(log_risk.dtype) / d[event_group]
        ratio = torch.exp(tied_lse[event_group] - log_denominator).clamp(max=1.0)
        log_denominator = log_denominator + torch.log1p(-fraction * ratio)
    return (log_denominator - event_risk).sum() / n_events


def as_cause_columns(log_risk, n_causes):
    """Network outputs as an (n, K) tensor, checked against the number of causes."""
    log_risk = log_risk.reshape(len(log_risk), -1)
    if log_risk.shape[1] != n_causes:
        raise ValueError(
            f"the network gives {log_risk.shape[1]} log-risk output(s) for a competing-risks "
            f"outcome with {n_causes} causes; its module needs an n_outputs argument (set from y)"
        )
    return log_risk


class CoxPHLoss(torch.nn.Module):
    """skorch criterion: the Cox loss of one or several heads, of one or several causes.

    The target holds float ``[time, event]`` rows. On one log-risk tensor the loss is
    :func:`cox_ph_loss`. With ``n_causes`` set (a competing-risks outcome, ``event``
    holding 0 = censored or the cause 1..K), the tensor has one column per cause and the
    loss is the sum of the K cause-specific losses (the events of cause k are events,
    everything else is censored for that cause). On a tuple of heads (a multi-head
    network in training) the loss is ``sum_k head_weights[k] * loss(head_k)``, heads of
    weight 0 left out; callbacks set ``head_weights`` as skorch's ``LRScheduler`` sets
    learning rates (:class:`~sarcoma_survival.nn.GradientBlending`).

    Parameters
    ----------
    ties : {"breslow", "efron"}, default="breslow"
    head_weights : array-like of shape (n_heads,) or None, default=None
        Weight of each head of a tuple; ``None``: uniform.
    n_causes : int or None, default=None
        Number of causes of a competing-risks target (set by the estimator from ``y``);
        ``None``: a survival target (one event type).

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.nn import CoxPHLoss
    >>> y = torch.tensor([[2.0, 1.0], [3.0, 0.0]])
    >>> float(CoxPHLoss()(torch.tensor([0.0, 0.0]), y))  # log(2)
    0.6931471824645996
    >>> heads = (torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]))
    >>> round(float(CoxPHLoss(head_weights=[0.5, 0.5])(heads, y)), 4)
    0.5032
    """

    #: Defaults of instances unpickled from files written before these attributes existed.
    head_weights = None
    n_causes = None

    def __init__(self, ties="breslow", head_weights=None, n_causes=None):
        super().__init__()
        self.ties = ties
        self.head_weights = head_weights
        self.n_causes = n_causes

    def forward(self, log_risk, y):
        if not isinstance(log_risk, (tuple, list)):
            return self.head_loss(log_risk, y)
        weights = self.head_weights
        if weights is None:
            weights = np.full(len(log_risk), 1.0 / len(log_risk))
        terms = [float(w) * self.head_loss(h, y) for w, h in zip(weights, log_risk) if w > 0]
        return torch.stack(terms).sum()

    def head_loss(self, log_risk, y):
        """The loss of one head: its Cox loss, summed over the causes of a competing target.

        Parameters
        ----------
        log_risk : torch.Tensor of shape (n,), (n, 1) or (n, n_causes)
        y : torch.Tensor of shape (n, 2)
            ``[time, event]`` rows.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        if self.n_causes is None:
            return cox_ph_loss(log_risk.float(), time=y[:, 0], event=y[:, 1], ties=self.ties)
        columns = as_cause_columns(log_risk, self.n_causes)
        losses = [
            cox_ph_loss(columns[:, k - 1].float(), time=y[:, 0], event=(y[:, 1] == k).to(y.dtype), ties=self.ties)
            for k in range(1, self.n_causes + 1)
        ]
        return torch.stack(losses).sum()
