-- Each territory's oblast-level unit (SOATE).
SELECT soate, oblast FROM dim_territory
