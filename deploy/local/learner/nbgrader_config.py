# nbgrader settings for a learner's server on genlab's one-machine JupyterHub (../README.md).
# jupyterhub_config.py puts this folder on the learner server's JUPYTER_CONFIG_PATH.
import os

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "genlab"
c.Exchange.root = os.environ["GENLAB_EXCHANGE"]
# Every hub user runs as the same OS account (SimpleLocalProcessSpawner), and nbgrader
# names a submission after the OS account: name it after the hub user instead.
c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
