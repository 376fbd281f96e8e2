"""Streamlit entry point (`make ui`): navigation between the four pages."""

import streamlit as st

st.set_page_config(page_title="movierec", page_icon=":material/movie:", layout="wide")
page = st.navigation(
    [
        st.Page("views/recommend.py", title="Recommend", icon=":material/movie:", default=True),
        st.Page("views/new_user.py", title="New here?", icon=":material/person_add:"),
        st.Page("views/similar.py", title="Similar movies", icon=":material/hub:"),
        st.Page("views/about.py", title="About / stats", icon=":material/monitoring:"),
    ]
)
page.run()
