"""The served score, in one place: every term of the retrieval score and of the final order, built by one function
(build_scorer) from one ScoringConfig.

For user u and catalogue movie m, where live(u) says u's history holds ratings given after the training cut-off:

    s(u, m) = v_u . v_m                                      towers (TowerSource)
            + [live(u)]     x w_t x T(u, m)                  transitions of u's latest ratings (TransitionRetriever)
            + [not live(u)] x w_p x log(1 + n_recent(m))     recent popularity (RecentPopularitySource)

    f(u, m) = exp(s(u, m) / tau - log sum_{m' not excluded} exp(s(u, m') / tau)) x sigmoid(a x r(u, m) + b)

v_m = [sqrt(1 - w) p_m | sqrt(w) q_m] joins the pooled two-tower's unit vector p and the causal sequence branch's q,
v_u likewise, so v_u . v_m = (1 - w) cos(p_u, p_m) + w cos(q_u, q_m); for live(u) the user side is rescaled to
w_live instead of w (LiveWeight). T(u, m) scores what training users rated soon after u's latest ratings, n_recent(m)
counts m's ratings in the training period's last days, r(u, m) is the ranker's predicted rating and (a, b) its
calibration to P(liked | rated). Candidates: the top K of s over the movies u may be shown (one top-K, equal scores
in catalogue order); the final list: those candidates by f, or, with a learned final stage (movierec.scoring.learned),
by g(u, m) = log f(u, m) + h(x(u, m)), where x is the candidate's feature row and h a small network fitted on the
validation period (0 when it did not beat f there), the final score then being f's total over the candidates shared
out in proportion to exp(g). docs/model.md describes each part.
"""

from movierec.scoring.config import ScoringConfig
from movierec.scoring.final import FinalScorer, LikeCalibration
from movierec.scoring.live_weight import LiveWeight
from movierec.scoring.scorer import Scorer, build_scorer

__all__ = ["FinalScorer", "LikeCalibration", "LiveWeight", "Scorer", "ScoringConfig", "build_scorer"]
