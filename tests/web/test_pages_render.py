"""Every page and API endpoint renders for the police role (a broad smoke check)."""
def test_pages(as_user, world):
    c = as_user("police")
    for url in ["/devices/", f"/devices/{world.alpha_devices[1]}", "/communities/", f"/communities/{world.alpha_community}",
                f"/devices/{world.alpha_devices[1]}/edit", "/import/", "/reports/", "/api/v1/devices", "/devices/export.csv", "/devices/export.xlsx",
                f"/api/v1/devices/{world.alpha_devices[1]}", "/api/v1/communities"]:
        r = c.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[-3000:])
