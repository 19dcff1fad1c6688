package httpapi

import "net/http"

// HTTPServer is the *http.Server Serve runs, for tests of its timeouts.
func HTTPServer(s *Server) *http.Server { return s.httpServer() }
