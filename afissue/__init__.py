"""afissue: the command line and the all-in-one local stack (``afissue dev``)."""
