"""One router per area of the interface; each route reads the request, calls the API's services and renders."""
