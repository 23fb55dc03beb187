def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Logga in" in response.get_data(as_text=True) or "Sign in" in response.get_data(
        as_text=True
    )


def test_interrupter_lands_on_caseload(client, login_as):
    login_as("interrupter")
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
