"""Generated demo data with ground-truth masks: metal plates, a CT head series, a large wafer."""
