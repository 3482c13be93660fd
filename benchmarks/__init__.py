"""Benchmarks for Socket Workbench. ``benchmarks/run.py`` (``make bench``) runs them all.

Each benchmark is a module of this folder that runs as ``python -m benchmarks.NAME`` and accepts
``--quick``; ``run.py`` starts each one in its own process so that one's Qt application, event
loop or crash cannot affect another. See README.md.
"""
