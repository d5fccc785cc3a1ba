async def test_login_and_create(api, anonymous):
    response = await anonymous.get("/api/smart-routings")
    assert response.status_code == 401
    response = await api.post("/api/smart-routings", {"name": "A", "reference": "a", "type": "start"})
    assert response.status_code == 201, response.json_body
    response = await api.get("/api/smart-routings")
    assert response.json_body["items"][0]["reference"] == "a"
