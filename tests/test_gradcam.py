"""Grad-CAM: the map points at the voxels that drive the output; no hook stays behind."""
import pickle

import numpy as np
import torch

from sarcoma_survival.explain._gradcam import grad_cam_3d, layer_resolutions


class RegionNet(torch.nn.Module):
    """conv -> ReLU -> global average -> linear: the output grows with bright structure."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(1, 3, 3, padding=1)
        torch.nn.init.constant_(self.conv.weight, 1.0 / 27)
        torch.nn.init.constant_(self.conv.bias, -0.2)
        self.head = torch.nn.Linear(3, 1)
        torch.nn.init.constant_(self.head.weight, 1.0)

    def forward(self, x):
        a = torch.relu(self.conv(x)).mean(dim=(2, 3, 4))
        return self.head(a)[:, 0]


def test_map_mass_lies_in_the_bright_structure_that_drives_the_output():
    net = RegionNet()
    x = 0.1 * torch.rand(2, 1, 16, 16, 16)
    inside = np.zeros((16, 16, 16), bool)
    inside[4:8, 4:8, 9:13] = True
    x[:, :, 4:8, 4:8, 9:13] += 1.0
    cam = grad_cam_3d(net, x, "conv")
    assert cam.shape == (2, 16, 16, 16)
    grown = np.zeros_like(inside)
    grown[3:9, 3:9, 8:14] = True  # the cube plus the conv's 1-voxel reach
    for m in cam:
        assert m[grown].sum() / m.sum() > 0.95
        assert m.max() == np.float32(1.0)


def test_no_hooks_or_grads_left_on_the_callers_module():
    net = RegionNet()
    grad_cam_3d(net, torch.rand(1, 1, 16, 16, 16), "conv")
    assert not net.conv._forward_hooks
    assert net.conv.weight.grad is None
    assert net.training  # the caller's mode is untouched
    pickle.loads(pickle.dumps(net))


def test_layer_resolutions_of_a_monai_densenet():
    from monai.networks.nets import DenseNet121

    net = DenseNet121(spatial_dims=3, in_channels=2, out_channels=1)
    sizes = layer_resolutions(net, torch.zeros(1, 2, 48, 48, 48),
                              ["features.denseblock1", "features.denseblock2", "features.denseblock4"])
    assert sizes == {"features.denseblock1": (12, 12, 12), "features.denseblock2": (6, 6, 6),
                     "features.denseblock4": (1, 1, 1)}
