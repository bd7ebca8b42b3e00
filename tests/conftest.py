import os

# Never touch the user's settings, caches or Qt state from a test.
os.environ.setdefault("HPE_STUDIO_TESTING", "1")
