"""MNIST the usual PyTorch way: a Module subclass with dropout, cross-entropy with label
smoothing, AdamW with a linear warm-up, gradient clipping, argmax accuracy, eval(), save/load.

train_dagrad.py is this file with dagrad imported in place of torch (the imports are the only
lines that differ; tests/test_pytorch_example.py checks that and trains both from the same
weights on the same batches).  The data is the 10,000 MNIST digits packaged with dagrad.

    python examples/pytorch_mnist/train_torch.py --epochs 2
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from dagrad.data import load_sample


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = self.flatten(x)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


def mnist(split):
    images, labels = load_sample(split)
    x = torch.tensor(images, dtype=torch.float32) / 255
    x = (x - 0.1307) / 0.3081
    return TensorDataset(x, torch.tensor(labels))


def make_optimizer(model, warmup_steps=100):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1,
                                                  total_iters=warmup_steps)
    return optimizer, scheduler


def train_step(model, batch, loss_fn, optimizer, scheduler, max_norm=1.0):
    x, y = batch
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x).argmax(dim=1)
            correct += (pred == y).sum().item()
            total += len(y)
    return correct / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default="mnist_net.pt")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    train_loader = DataLoader(mnist("train"), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(mnist("test"), batch_size=1000)
    model = Net()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer, scheduler = make_optimizer(model)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for batch in train_loader:
            loss = train_step(model, batch, loss_fn, optimizer, scheduler)
        accuracy = evaluate(model, test_loader)
        print(f"epoch {epoch}: last batch loss {loss:.4f}, test accuracy {100 * accuracy:.2f}%")

    torch.save(model.state_dict(), args.save)
    reloaded = Net()
    reloaded.load_state_dict(torch.load(args.save))
    print(f"reloaded from {args.save}: test accuracy "
          f"{100 * evaluate(reloaded, test_loader):.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
