"""torch modules: the clinical MLP and the 3D DenseNet-121, each with a 1-unit risk head."""
from __future__ import annotations

from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "selu": nn.SELU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh}
_INITS = ("he", "torch")


def _he_init(layers, activation):
    """He normal weights (LeCun normal for SELU, Xavier gain for tanh) and zero biases."""
    for layer in layers:
        if isinstance(layer, nn.Linear):
            if activation == "tanh":
                nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain("tanh"))
            else:
                nonlinearity = "linear" if activation == "selu" else "relu"
                nn.init.kaiming_normal_(layer.weight, nonlinearity=nonlinearity)
            nn.init.zeros_(layer.bias)


class _RiskNetwork(nn.Module):
    """A feature extractor (``encoder``) followed by a one-unit linear risk ``head``."""

    def features(self, x):
        """The features before the risk head (what a fusion network concatenates).

        Parameters
        ----------
        x : torch.Tensor
            A batch: (B, in_features) tables or (B, C, D, H, W) volumes.

        Returns
        -------
        torch.Tensor of shape (B, n_features)
        """
        return self.encoder(x)

    def forward(self, x):
        return self.head(self.features(x)).squeeze(-1)


class ClinicalMLP(_RiskNetwork):
    """The paper's clinical subnetwork (11 -> 32 -> 16 -> 8 -> 8 -> 8 -> 12) plus a risk head.

    Parameters
    ----------
    in_features : int
        Width of the encoded clinical table.
    hidden_sizes : sequence of int, default=(32, 16, 8, 8, 8, 12)
        Widths of the hidden layers; the last one is the feature size that a fusion
        network concatenates (12 in the paper).
    activation : {"relu", "selu", "elu", "gelu", "tanh"}, default="relu"
    dropout : float, default=0.0
        Dropout after each hidden activation.
    batch_norm : bool, default=False
        Batch normalization before each hidden activation.
    n_outputs : int, default=1
        Units of the risk head: 1 log-risk, or one per cause of a competing-risks
        outcome (the forward pass then gives shape (B, n_outputs)).
    init : {"torch", "he"}, default="torch"
        Initialization of the linear layers. ``"torch"``: PyTorch's default
        ``nn.Linear`` initialization; with ReLU the 6-layer network then starts with
        several dead units per 8-wide layer and an output that hardly depends on its
        input, so plain SGD barely moves it (Adam, or ``activation="selu"``, does).
        ``"he"``: He (Kaiming) normal weights scaled for ``activation`` (LeCun normal
        for SELU) and zero biases: it learns under SGD but overfits faster.

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.nn import ClinicalMLP
    >>> ClinicalMLP(11)(torch.zeros(4, 11)).shape
    torch.Size([4])
    """

    def __init__(self, in_features, hidden_sizes=(32, 16, 8, 8, 8, 12), activation="relu",
                 dropout=0.0, batch_norm=False, init="torch", n_outputs=1):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        layers, width = [], int(in_features)
        for size in hidden_sizes:
            layers.append(nn.Linear(width, int(size)))
            if batch_norm:
                layers.append(nn.BatchNorm1d(int(size)))
            layers.append(_ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(float(dropout)))
            width = int(size)
        self.encoder = nn.Sequential(*layers)
        self.n_features = width
        self.head = nn.Linear(width, int(n_outputs))
        if init == "he":
            _he_init(self.encoder, activation)



class DenseNetRisk(_RiskNetwork):
    """MONAI 3D DenseNet-121 giving ``n_features`` image features, then a linear risk head.

    Parameters
    ----------
    in_channels : int, default=2
        Image channels (T1, T2).
    n_features : int, default=12
        Output width of the DenseNet (the paper's 12 image features).
    dropout : float, default=0.0
        DenseNet dropout probability.
    init_features, growth_rate, block_config, bn_size
        MONAI ``DenseNet`` sizes; the defaults are DenseNet-121's.
    n_outputs : int, default=1
        Units of the risk head (one per cause of a competing-risks outcome).

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.nn import DenseNetRisk
    >>> net = DenseNetRisk(in_channels=1, init_features=8, growth_rate=4, block_config=(1, 1))
    >>> net(torch.zeros(2, 1, 16, 16, 16)).shape
    torch.Size([2])
    """

    def __init__(self, in_channels=2, n_features=12, dropout=0.0, init_features=64, growth_rate=32,
                 block_config=(6, 12, 24, 16), bn_size=4, n_outputs=1):
        super().__init__()
        from monai.networks.nets import DenseNet

        self.encoder = DenseNet(
            spatial_dims=3,
            in_channels=int(in_channels),
            out_channels=int(n_features),
            init_features=int(init_features),
            growth_rate=int(growth_rate),
            block_config=tuple(int(b) for b in block_config),
            bn_size=int(bn_size),
            dropout_prob=float(dropout),
        )
        self.n_features = int(n_features)
        self.head = nn.Linear(int(n_features), int(n_outputs))
