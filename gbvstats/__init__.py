"""gbvstats: collection, validation and consolidation of GBV and TIP statistics (Kyrgyz Republic)."""

__version__ = "0.1.0"
