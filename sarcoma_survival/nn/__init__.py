"""Neural survival models (skorch inside) and the Cox partial-likelihood loss."""
from ._base import SurvivalNeuralNet
from ._blending import GradientBlending, gradient_blending_weights
from ._callbacks import FitSummary, KeepBestWeights, SurvivalValidSplit
from ._clinical_mlp import ClinicalMLPSurvival
from ._densenet import DenseNetSurvival
from ._loss import CoxPHLoss, cox_ph_loss
from ._mmnn import MMNNSurvival
from ._mmnn_module import MultimodalNet
from ._modules import ClinicalMLP, DenseNetRisk
from ._pretrained import load_pretrained_densenet

__all__ = [
    "cox_ph_loss",
    "ClinicalMLPSurvival",
    "DenseNetSurvival",
    "MMNNSurvival",
    "MultimodalNet",
    "GradientBlending",
    "gradient_blending_weights",
    "SurvivalNeuralNet",
    "CoxPHLoss",
    "SurvivalValidSplit",
    "KeepBestWeights",
    "FitSummary",
    "ClinicalMLP",
    "DenseNetRisk",
    "load_pretrained_densenet",
]
