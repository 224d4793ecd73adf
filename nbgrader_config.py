# nbgrader configuration for genlab: instructors edit solutions/, learners get course/.
c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "genlab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"

# Stub that replaces solution code in the learner's copy.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograde executes whole notebooks; the 30 s default per cell is too short for training cells.
# Grade with GENLAB_SMOKE=1 (see README): graded cells never depend on training size.
c.Execute.timeout = 600
