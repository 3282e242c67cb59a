"""Trip following: assignment, position along the trip, stop events, delay and ETAs (docs/tripfollow.md)."""

from onboard.tripfollow.core import Core, CoreConfig
from onboard.tripfollow.plan import PlanStop, TripPlan, build_plan, make_plan
from onboard.tripfollow.position import PositionConfig, SpeedConfig
from onboard.tripfollow.stops import FollowConfig

__all__ = ["Core", "CoreConfig", "FollowConfig", "PlanStop", "PositionConfig", "SpeedConfig", "TripPlan",
           "build_plan", "make_plan"]
