from interrupters import create_app

app = create_app()
