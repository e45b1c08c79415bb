"""Serving a saved predictor over HTTP on Ray Serve (``raymlx serve``, KubeRay RayService).

``build_app`` is the application builder a Serve config names
(``raymlx.tabular.serving:build_app``); ``serve_predictor`` starts it from Python.
"""

from raymlx.tabular.serving.app import build_app, serve_predictor, stop_serving

__all__ = ["build_app", "serve_predictor", "stop_serving"]
