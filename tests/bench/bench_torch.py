"""bench_torch.py MODEL BATCH STEPS THREADS - PyTorch on the same model, batch and threads
as bench_train (SGD step included), for `make bench`.  Prints one key=value line."""
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

# the models from the user-facing module (tools/python/featevo.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "python"))
import featevo as ft  # noqa: E402

model_name, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1)
m = ft.make(model_name)
opt = torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
x = (torch.rand(batch, 1, 28, 28) ** 3 - 0.1307) / 0.3081
y = torch.randint(0, 10, (batch,))
m.train()
t_train = 0.0
for s in range(steps + 1):
    t = time.perf_counter()
    opt.zero_grad()
    F.cross_entropy(m(x), y).backward()
    opt.step()
    if s:
        t_train += time.perf_counter() - t
m.eval()
t_eval = 0.0
with torch.no_grad():
    for s in range(steps + 1):
        t = time.perf_counter()
        F.cross_entropy(m(x), y)
        if s:
            t_eval += time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"impl=torch model={model_name} batch={batch} threads={threads} "
      f"train_img_s={batch * steps / t_train:.1f} eval_img_s={batch * steps / t_eval:.1f} "
      f"peak_rss_mb={rss:.0f} torch={torch.__version__}")
