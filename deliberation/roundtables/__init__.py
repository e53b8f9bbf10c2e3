"""Live roundtable sessions: tables, facilitators, phases, theme team and room polls."""
