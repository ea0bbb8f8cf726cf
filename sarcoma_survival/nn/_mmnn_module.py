"""The multimodal torch module: clinical MLP + 3D DenseNet, fused by a linear risk head."""
from __future__ import annotations

import torch
from torch import nn

from ._modules import ClinicalMLP, DenseNetRisk


class MultimodalNet(nn.Module):
    """Clinical and image subnetworks whose features are concatenated into one risk head.

    The clinical subnetwork is a :class:`~sarcoma_survival.nn.ClinicalMLP` (paper: 11 ->
    32 -> 16 -> 8 -> 8 -> 8 -> 12) and the image subnetwork a
    :class:`~sarcoma_survival.nn.DenseNetRisk` (MONAI 3D DenseNet-121 -> 12 features).
    Their features are concatenated (24 in the paper) and a linear layer gives the
    multimodal log-risk. Each subnetwork keeps its own linear head: the clinical-only and
    image-only log-risks are the auxiliary outputs that gradient blending trains and
    weighs; predictions use the multimodal head only.

    Parameters
    ----------
    clinical_in_features : int
        Width of the encoded clinical table.
    in_channels : int, default=2
        Image channels (T1, T2).
    hidden_sizes : sequence of int, default=(32, 16, 8, 8, 8, 12)
        Hidden widths of the clinical MLP; the last is its feature size.
    activation : {"relu", "selu", "elu", "gelu", "tanh"}, default="selu"
        Activation of the clinical MLP. The paper's is ReLU; under its SGD recipe the
        narrow ReLU MLP does not learn (see the user guide), SELU does.
    clinical_dropout : float, default=0.0
        Dropout after each hidden layer of the clinical MLP.
    batch_norm : bool, default=False
        Batch normalization in the clinical MLP.
    clinical_init : {"torch", "he"}, default="torch"
        Initialization of the clinical MLP (see :class:`ClinicalMLP`).
    n_features : int, default=12
        Image features given by the DenseNet.
    image_dropout : float, default=0.0
        DenseNet dropout probability.
    init_features, growth_rate, block_config, bn_size
        MONAI ``DenseNet`` sizes; the defaults are DenseNet-121's.
    n_outputs : int, default=1
        Units of each of the three risk heads (one per cause of a competing-risks
        outcome; each head then gives shape (B, n_outputs)).

    Attributes
    ----------
    clinical_net : ClinicalMLP
        ``clinical_net.features(x)`` gives the clinical features, ``clinical_net(x)``
        the clinical-only log-risk.
    image_net : DenseNetRisk
        ``image_net.features(x)`` gives the image features, ``image_net(x)`` the
        image-only log-risk; its MONAI DenseNet is ``image_net.encoder``, with layers
        ``image_net.encoder.features.denseblock1`` ... ``denseblock4`` (Grad-CAM targets).
    fusion : torch.nn.Linear
        The multimodal head, on the concatenated features (clinical first).

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.nn import MultimodalNet
    >>> net = MultimodalNet(5, in_channels=1, init_features=8, growth_rate=4, block_config=(1, 1))
    >>> fused, clinical, image = net(torch.zeros(3, 5), torch.zeros(3, 1, 16, 16, 16))
    >>> fused.shape, clinical.shape, image.shape
    (torch.Size([3]), torch.Size([3]), torch.Size([3]))
    """

    def __init__(self, clinical_in_features, in_channels=2, hidden_sizes=(32, 16, 8, 8, 8, 12),
                 activation="selu", clinical_dropout=0.0, batch_norm=False, clinical_init="torch",
                 n_features=12,
                 image_dropout=0.0, init_features=64, growth_rate=32, block_config=(6, 12, 24, 16),
                 bn_size=4, n_outputs=1):
        super().__init__()
        self.clinical_net = ClinicalMLP(
            clinical_in_features, hidden_sizes=hidden_sizes, activation=activation,
            dropout=clinical_dropout, batch_norm=batch_norm, init=clinical_init, n_outputs=n_outputs,
        )
        self.image_net = DenseNetRisk(
            in_channels=in_channels, n_features=n_features, dropout=image_dropout,
            init_features=init_features, growth_rate=growth_rate, block_config=block_config,
            bn_size=bn_size, n_outputs=n_outputs,
        )
        self.fusion = nn.Linear(self.clinical_net.n_features + self.image_net.n_features, int(n_outputs))

    def forward(self, clinical, image):
        """Log-risks of the three heads.

        Parameters
        ----------
        clinical : torch.Tensor of shape (B, clinical_in_features)
        image : torch.Tensor of shape (B, C, D, H, W)

        Returns
        -------
        tuple of three torch.Tensor of shape (B,), or (B, n_outputs) when n_outputs > 1
            Multimodal, clinical-only and image-only log-risks (the order of ``sarcoma_survival.utils.blending.HEADS``).
        """
        f_clinical = self.clinical_net.features(clinical)
        f_image = self.image_net.features(image)
        fused = self.fusion(torch.cat([f_clinical, f_image], dim=1)).squeeze(-1)
        return (
            fused,
            self.clinical_net.head(f_clinical).squeeze(-1),
            self.image_net.head(f_image).squeeze(-1),
        )
