"""Training-only pieces of the LFCC-ResNet recipe: the one-class softmax loss and SpecAugment-style masking."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def oc_softmax_loss(
    score: torch.Tensor,
    is_bonafide: torch.Tensor,
    *,
    margin_bonafide: float = 0.9,
    margin_spoof: float = 0.2,
    alpha: float = 20.0,
) -> torch.Tensor:
    """One-class softmax loss on cosine scores.

    ``L = mean(softplus(alpha * (m_b - s)))`` over bona fide windows plus
    ``softplus(alpha * (s - m_s))`` over spoofs: bona fide embeddings are pulled to
    cosine >= ``m_b`` with the learnt centre, spoofs pushed below ``m_s``.

    Parameters
    ----------
    score : torch.Tensor [shape=(B,)]
        Cosine scores from :meth:`ResNet1D.score_embedding`.
    is_bonafide : torch.Tensor [shape=(B,)], float 0/1
    """
    y = is_bonafide.float()
    z = torch.where(y > 0.5, margin_bonafide - score, score - margin_spoof)
    return F.softplus(alpha * z).mean()


def spec_augment(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    n_time_masks: int = 2,
    max_time_frac: float = 0.1,
    n_feature_masks: int = 1,
    max_features: int = 8,
) -> torch.Tensor:
    """SpecAugment-like masking of normalised features (masked cells set to 0 = the mean).

    Parameters
    ----------
    x : torch.Tensor [shape=(B, F, T)]
        Normalised features.
    generator : torch.Generator
        Random source (seeded by the trainer).
    n_time_masks, max_time_frac : int, float
        Number of time masks per window and the longest as a fraction of ``T``.
    n_feature_masks, max_features : int
        Number of coefficient-band masks and their largest width (applied to the static
        block and mirrored on the delta blocks, which describe the same coefficients).

    Returns
    -------
    torch.Tensor [shape=(B, F, T)]
    """
    b, f, t = x.shape
    mask = torch.ones(b, f, t, dtype=x.dtype)
    ar_t = torch.arange(t)
    max_t = max(1, int(max_time_frac * t))
    for _ in range(n_time_masks):
        w = torch.randint(0, max_t + 1, (b, 1), generator=generator)
        s = (torch.rand(b, 1, generator=generator) * (t - w).clamp(min=1)).long()
        m = (ar_t[None, :] >= s) & (ar_t[None, :] < s + w)
        mask[m[:, None, :].expand(b, f, t)] = 0
    block = f // 3 if f % 3 == 0 else f
    ar_f = torch.arange(block)
    for _ in range(n_feature_masks):
        w = torch.randint(0, max_features + 1, (b, 1), generator=generator)
        s = (torch.rand(b, 1, generator=generator) * (block - w).clamp(min=1)).long()
        m = (ar_f[None, :] >= s) & (ar_f[None, :] < s + w)  # [B, block]
        m = m.repeat(1, f // block)
        mask[m[:, :, None].expand(b, f, t)] = 0
    return x * mask
