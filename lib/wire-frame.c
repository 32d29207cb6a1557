/* The frame of a stream's chunks (see wire-frame.h). */
#include "wire-frame.h"

#include <string.h>

void wire_frame_forget(struct mlb_frame *f)
{
	mlb_buf_reset(&f->bytes);
	f->nholes = 0;
}

void wire_frame_keep(struct mlb_frame *f, const char *data, size_t len, struct wire_hole *holes, int n)
{
	const char *p = data;

	wire_frame_forget(f);
	/* Data joined from several lines holds a \n: no one line of a lane could match it. */
	if (n <= 0 || n > MLB_FRAME_HOLES || memchr(data, '\n', len))
		return;
	for (int i = 0; i < n; i++)
		if (holes[i].tag >= MLB_FRAME_HOLES)
			return;
	/* in the order they come in the chunk (a handful: insertion sort) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && holes[j].at < holes[j - 1].at; j--) {
			struct wire_hole t = holes[j];

			holes[j] = holes[j - 1];
			holes[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		if (holes[i].at < p)
			return;	/* overlapping holes: no frame */
		f->seg[i] = (size_t)(holes[i].at - p);
		mlb_buf_add(&f->bytes, p, f->seg[i]);
		f->kind[i] = (unsigned char)holes[i].kind;
		f->tag[i] = holes[i].tag;
		p = holes[i].at + holes[i].len;
	}
	f->seg[n] = (size_t)(data + len - p);
	mlb_buf_add(&f->bytes, p, f->seg[n]);
	f->nholes = n;
}

const char *wire_frame_match(const struct mlb_frame *f, const char *s, size_t len, struct wire_match *m)
{
	const char *seg = f->bytes.s, *p = s, *end = s + len;
	struct json_scan sc;

	if (!f->nholes)
		return NULL;
	m->present = 0;
	for (int i = 0; i < f->nholes; i++) {
		unsigned t = f->tag[i];

		if ((size_t)(end - p) < f->seg[i] || memcmp(p, seg, f->seg[i]))
			return NULL;
		p += f->seg[i];
		seg += f->seg[i];
		/* Scanning up to the end, not the next segment, lets a string be crossed eight bytes a step. */
		json_scan_init(&sc, p, (size_t)(end - p));
		switch (f->kind[i]) {
		case WIRE_HOLE_STRING:
			if (!json_scan_string(&sc, &m->str[t]))
				return NULL;
			break;
		case WIRE_HOLE_INT:
			if (!json_scan_int(&sc, &m->num[t]))
				return NULL;
			break;
		default:
			json_scan_ws(&sc);
		}
		m->present |= 1u << t;
		p = (const char *)sc.p;
	}
	if ((size_t)(end - p) < f->seg[f->nholes] || memcmp(p, seg, f->seg[f->nholes]))
		return NULL;
	return p + f->seg[f->nholes];
}
