"""A Supabase stack living in a Dokploy compose: its env text, keys, secrets, gateway and operations."""
