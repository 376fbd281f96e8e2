"""Streamlit UI: talks to the API over HTTP only (requests); never imports TensorFlow or model code."""
