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

# nbclient can wait for ever on a cell that uses an ipywidgets Output (interact does): a lost
# ZeroMQ wake-up, nbclient issue #312. genlab polls the kernel in short slices instead.
from genlab.course.kernel_polling import install  # noqa: E402

install()

# Feedback keeps hidden tests hidden, so an assignment can be given again: HideHiddenTests
# removes them, and the tracebacks that quote them, from the feedback HTML (it keeps each
# failure's message). To show hidden tests in feedback: c.HideHiddenTests.enabled = False
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "genlab.course.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
