# nbgrader settings for an instructor's server on genlab's one-machine JupyterHub (../README.md).
# jupyterhub_config.py puts this folder on the instructor server's JUPYTER_CONFIG_PATH; the
# course folder's own nbgrader_config.py (source "solutions", release "course") is read after it.
import os

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.root = os.environ["GENLAB_COURSE_DIR"]
c.CourseDirectory.course_id = "genlab"
c.Exchange.root = os.environ["GENLAB_EXCHANGE"]
# Every hub user runs as the same OS account, so every submission is "owned" by it: the
# owner-versus-learner check would warn of cheating on each one.
c.ExchangeCollect.check_owner = False
