"""Image-quality diagnosis (numpy + OpenCV, no database)."""
