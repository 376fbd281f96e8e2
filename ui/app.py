"""Streamlit entry point (`make ui`): the pages, their titles, and one banner when the API is in trouble."""

import streamlit as st

from ui import api

PAGES = [
    st.Page("views/recommend.py", title="Recommend", icon=":material/movie:", default=True),
    st.Page("views/new_user.py", title="New here?", icon=":material/person_add:", url_path="new"),
    st.Page("views/profile.py", title="Profile", icon=":material/person:", url_path="profile"),
    st.Page("views/similar.py", title="Similar movies", icon=":material/hub:", url_path="similar"),
    st.Page("views/about.py", title="About", icon=":material/monitoring:", url_path="about"),
]

page = st.navigation(PAGES, position="top")
st.set_page_config(page_title=f"{page.title} · movierec", page_icon=":material/movie:", layout="wide")
problem = api.check()
if problem is not None:
    api.banner(problem, cached=True)  # the page below still shows what it has cached, marked by the banner
st.session_state[api.BANNER_SHOWN] = problem is not None
notice = st.container()
try:
    page.run()
finally:
    st.session_state[api.BANNER_SHOWN] = False
    with notice:
        if problem is None:
            api.stale_notice()
