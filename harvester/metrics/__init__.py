"""Openness metrics of the data centers: completeness score, shares, freshness, reachability, ranking."""

from .compute import RANKING_WEIGHTS, center_metrics, rank, ranking_score
from .quality import CHECKS, MAX_POINTS, MAX_SCORE, Dimension, Rating, assess, rating
from .report import overall_metrics, ranking, snapshot, source_metrics

__all__ = ["CHECKS", "MAX_POINTS", "MAX_SCORE", "RANKING_WEIGHTS", "Dimension", "Rating", "assess",
           "center_metrics", "overall_metrics", "rank", "ranking", "ranking_score", "rating", "snapshot",
           "source_metrics"]
