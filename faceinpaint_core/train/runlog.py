"""A run's logs: ``log.csv`` of every loss term, TensorBoard events and sample grids."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import torch

from ..utils.io import atomic_write_bytes, atomic_write_text


class RunLog:
    """``log.csv`` (one row per logging step: ``step`` (completed steps), ``wall_s`` (seconds since this
    process started logging), then the mean of each loss term since the last row, over all ranks;
    appended and flushed) and
    TensorBoard events under ``tensorboard/``. On resume, rows and events after ``start_step`` (written
    by the interrupted process after its last checkpoint) are dropped. A no-op when not ``enabled``."""

    def __init__(self, run_dir: Path, start_step: int, enabled: bool = True):
        self.path, self.enabled, self.t0 = Path(run_dir) / "log.csv", enabled, time.time()
        self.writer = None
        if not enabled:
            return
        self.header = self._truncate(start_step)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=start_step + 1 if start_step else None)

    def _truncate(self, start_step: int) -> list[str]:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return []
        with open(self.path, newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = list(rows[0].keys()) if rows else []
        self._rewrite(header, [r for r in rows if int(r["step"]) <= start_step])
        return header

    def _rewrite(self, header: list[str], rows: list[dict]) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", restval="")
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(self.path, buf.getvalue())

    def log(self, step: int, terms: dict[str, float]) -> None:
        """Append one row ``step, wall_s, <term>...`` (a new term rewrites the header) and the TB scalars."""
        if not self.enabled:
            return
        row = {"step": step, "wall_s": f"{time.time() - self.t0:.3f}", **{k: f"{v:.6g}" for k, v in terms.items()}}
        if not self.header or set(row) - set(self.header):
            old = []
            if self.path.is_file() and self.header:
                with open(self.path, newline="") as fh:
                    old = list(csv.DictReader(fh))
            self.header = ["step", "wall_s"] + sorted((set(self.header) | set(row)) - {"step", "wall_s"})
            self._rewrite(self.header, old)
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.header, lineterminator="\n", restval="").writerow(row)
            fh.flush()
        for k, v in terms.items():
            self.writer.add_scalar(k, v, step)
        self.writer.flush()

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None:
        if self.writer is not None:
            self.writer.add_image(tag, grid, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _titled(body, names: list[str]):
    """``body`` (PIL image of ``len(names)`` equal columns) under a header with every column title whole.

    Titles wrap at spaces; when the longest word is wider than a column the grid is enlarged by an integer
    factor (nearest neighbour) until it fits, so no title is ever cut.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widest = max(measure.textlength(word, font=font) for name in names for word in name.split() or [name])
    scale = max(1, -(-int(widest + 4) // (body.width // len(names))))
    body = body.resize((body.width * scale, body.height * scale), Image.NEAREST) if scale > 1 else body
    tile_w = body.width // len(names)
    lines = [_wrap(name, tile_w - 4, measure, font) for name in names]
    line_h = font.getbbox("Ag")[3] + 2
    head = line_h * max(len(ls) for ls in lines) + 2
    page = Image.new("RGB", (body.width, body.height + head), "white")
    page.paste(body, (0, head))
    draw = ImageDraw.Draw(page)
    for j, ls in enumerate(lines):
        for k, line in enumerate(ls):
            draw.text((j * tile_w + 2, 1 + k * line_h), line, fill="black", font=font)
    return page


def _wrap(text: str, width: float, measure, font) -> list[str]:
    """Greedy word wrap of ``text`` into lines no wider than ``width`` pixels (a longer word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and measure.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [text]


def save_sample_grid(cols: dict[str, torch.Tensor], path: Path, runlog: RunLog | None = None, step: int = 0) -> Path:
    """PNG grid, rows = samples, columns = ``cols`` (each ``(N, 3|1, H, W)`` in [0, 1]), titled with the column names."""
    from PIL import Image
    from torchvision.utils import make_grid

    tiles = [c[i].detach().float().cpu().clamp(0, 1).expand(3, -1, -1) for i in range(next(iter(cols.values())).shape[0])
             for c in cols.values()]
    grid = make_grid(torch.stack(tiles), nrow=len(cols), padding=2, pad_value=1.0)
    if runlog is not None:
        runlog.image("samples", grid, step)
    body = Image.fromarray((grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype("uint8"))
    page = _titled(body, list(cols))
    buf = io.BytesIO()
    page.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())



