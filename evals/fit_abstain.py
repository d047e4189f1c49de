"""Fit the abstention gate (assistant/abstain.py) on labelled questions, with cross-validation.

Labelled questions: the development set (evals/questions.jsonl) and the development halves (odd lines) of the
acceptance set and of evals/probe.jsonl. Each answered part is one example: label 1 when the question is answerable and the ungated answer
holds its expected strings, 0 when the question is unanswerable or the answer is wrong (a wrong answer is worse
than none). A logistic regression (numpy, L2) is fitted; the threshold stops the most wrong or unanswerable answers while keeping at least 99% of the right ones, cross-validated
leaving one writer's questions out at a time. Writes
assistant/vocab/abstain.json with the weights, the threshold and the cross-validated scores.

    python -m evals.fit_abstain --data-dir var
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.abstain import FEATURES, FITTED, features, judged
from assistant.schemas import AskRequest, Turn
from assistant.service import Assistant
from evals.acceptance import ACCEPTANCE, PROBES, load_items, norm

__all__ = ["examples", "fit"]

KEEP = 0.99  # a false abstention costs a right answer: the gate may stop at most 1% of them


def _right(answer: str, must: list[list[str]]) -> bool:
    a = norm(answer)
    return all(any(norm(x) in a for x in g) for g in must)


def _items(dev: Path, acceptance: Path) -> list[tuple[int, str, list[dict[str, str]], list[list[str]]]]:
    """(source, question, history, must): source 0 is our development set, 1.. the outside samples."""
    out = []
    for line in dev.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            must = [[e] for e in q.get("expected", [])] if q.get("answerable", True) else []
            out.append((0, q["question"], q.get("history", []), must))
    for source, path in enumerate(
        (acceptance, *PROBES), 1
    ):  # the outside samples: their development halves only
        if path.exists():
            for it in load_items(path, "odd"):
                out.append((source, it["q"], [{"turns": t} for t in it.get("turns", [])[:-1]], it["must"]))
    return out


def examples(bot: Assistant, dev: Path, acceptance: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and the source of each example."""
    engine = bot._engine
    xs, ys, src = [], [], []
    for source, question, history, must in _items(dev, acceptance):
        turns: list[Turn] = []
        for h in history:
            if "turns" in h:  # an acceptance conversation: ask the earlier turn to get its answer
                prev = bot.ask(AskRequest(question=h["turns"], history=turns))
                turns += [Turn(role="user", content=h["turns"]), Turn(role="assistant", content=prev.answer)]
            else:
                turns.append(Turn(**h))
        _, parts = engine.drafts(AskRequest(question=question, history=turns))
        answer = "\n".join(line for _, d, _, _ in parts for line in d.lines)
        label = 1 if must and _right(answer, must) else 0
        for part, draft, _, _ in parts:
            if draft.answerable and judged(part):
                f = features(part, draft, engine.k, engine.generic)
                xs.append([f[n] for n in FEATURES])
                ys.append(label)
                src.append(source)
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), np.asarray(src)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 4000) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression: a wrong or unanswerable example weighs as much in all as the right ones."""
    pos = max(1.0, float(y.sum()))
    neg = max(1.0, float(len(y) - y.sum()))
    cw = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = cw * (p - y)
        w -= 1.0 * ((x.T @ g) / len(y) + l2 * w)
        b -= 1.0 * float(np.mean(g))
    return w, b


def _accuracy(p: np.ndarray, y: np.ndarray, t: float) -> float:
    """Balanced accuracy: the share of right answers kept and the share of wrong or unanswerable ones stopped."""
    keep = p >= t
    tpr = float(np.mean(keep[y == 1])) if (y == 1).any() else 1.0
    tnr = float(np.mean(~keep[y == 0])) if (y == 0).any() else 1.0
    return (tpr + tnr) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("var"))
    ap.add_argument("--dev", type=Path, default=Path("evals/questions.jsonl"))
    ap.add_argument("--acceptance", type=Path, default=ACCEPTANCE)
    args = ap.parse_args()
    FITTED.unlink(missing_ok=True)  # features are computed with the gate open
    x, y, src = examples(Assistant.open(args.data_dir), args.dev, args.acceptance)
    # leave one source out: each fold is the questions of one writer, so the threshold is chosen for questions
    # written by someone the model has not seen (random folds let a writer's phrasing leak into training)
    folds = [np.flatnonzero(src == s) for s in np.unique(src)]
    thresholds = np.round(np.arange(0.05, 0.81, 0.025), 3)
    cv: dict[float, list[tuple[float, float]]] = {float(t): [] for t in thresholds}
    for i, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != i])
        w, b = fit(x[train], y[train])
        p = 1 / (1 + np.exp(-(x[test] @ w + b)))
        for t in thresholds:
            keep = p >= t
            kept = float(np.mean(keep[y[test] == 1])) if (y[test] == 1).any() else 1.0
            stopped = float(np.mean(~keep[y[test] == 0])) if (y[test] == 0).any() else 1.0
            cv[float(t)].append((kept, stopped))
    # the threshold that stops the most wrong answers while keeping at least KEEP of the right ones (CV)
    ok = [t for t in cv if np.mean([k for k, _ in cv[t]]) >= KEEP] or [min(cv)]
    best = max(ok, key=lambda t: (np.mean([s for _, s in cv[t]]), -t))
    w, b = fit(x, y)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    out = {
        "weights": {n: round(float(v), 4) for n, v in zip(FEATURES, w, strict=True)},
        "bias": round(float(b), 4),
        "threshold": best,
        "examples": int(len(y)),
        "positives": int(y.sum()),
        "cv_right_kept": round(float(np.mean([k for k, _ in cv[best]])), 3),
        "cv_wrong_stopped": round(float(np.mean([s for _, s in cv[best]])), 3),
        "train_balanced_accuracy": round(_accuracy(p, y, best), 3),
    }
    FITTED.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
