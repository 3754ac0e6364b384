#!/usr/bin/env python3
"""Times DenseNet training steps in PyTorch on random images, for `fedxray bench train --compare-torch`.

The model is torchvision's DenseNet (DenseNet-121/169/201, or the small
configurations fedxray names) with the study's head: global average pooling ->
Dense(512, relu) -> BatchNorm -> Dropout(0.3) -> Dense(classes); softmax
cross-entropy, Adam(lr 0.001). Prints one JSON object. Needs python3-torch and
python3-torchvision (Debian: apt-get install -y python3-torch python3-torchvision).
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torchvision

CONFIGS = {
    "densenet121": dict(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64),
    "densenet169": dict(growth_rate=32, block_config=(6, 12, 32, 32), num_init_features=64),
    "densenet201": dict(growth_rate=32, block_config=(6, 12, 48, 32), num_init_features=64),
    "densenet-tiny": dict(growth_rate=8, block_config=(2, 2, 2), num_init_features=16),
    "densenet-small": dict(growth_rate=16, block_config=(2, 4, 6, 4), num_init_features=32),
}


def build(arch: str, classes: int) -> nn.Module:
    net = torchvision.models.DenseNet(bn_size=4, drop_rate=0, num_classes=1000, **CONFIGS[arch])
    features = net.classifier.in_features
    net.classifier = nn.Sequential(
        nn.Linear(features, 512), nn.ReLU(), nn.BatchNorm1d(512), nn.Dropout(0.3), nn.Linear(512, classes)
    )
    return net


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="densenet121", choices=sorted(CONFIGS))
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    model = build(a.arch, a.classes).train()
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 3, a.image_size, a.image_size)
    y = torch.arange(a.batch) % a.classes
    times = []
    cpu = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        if i >= a.warmup:
            times.append(dt)
            cpu.append(dc)
    med = statistics.median(times)
    print(json.dumps({
        "backend": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "arch": a.arch,
        "imageSize": a.image_size,
        "batch": a.batch,
        "imagesPerSecond": a.batch / med,
        "medianStepSeconds": med,
        "stepSeconds": times,
        "medianStepCpuSeconds": statistics.median(cpu),
    }))


if __name__ == "__main__":
    main()
