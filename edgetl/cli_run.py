placeholder = None
def register(app, friendly):
    pass
