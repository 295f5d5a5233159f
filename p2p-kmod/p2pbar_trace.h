/* SPDX-License-Identifier: GPL-2.0 */
/*
 * p2pbar tracepoints: what importers did with the buffers and what moved,
 * under /sys/kernel/tracing/events/p2pbar/. The events are created in
 * p2pbar_main.c (CREATE_TRACE_POINTS).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM p2pbar

#if !defined(_P2PBAR_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _P2PBAR_TRACE_H

#include <linux/device.h>
#include <linux/tracepoint.h>

#include "p2pbar_compat.h"

TRACE_EVENT(p2pbar_attach,
	    TP_PROTO(u64 id, struct device *importer, bool peer2peer, int ret),
	    TP_ARGS(id, importer, peer2peer, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __string(importer, dev_name(importer))
			     __field(bool, peer2peer)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   P2PBAR_ASSIGN_STR(importer, dev_name(importer));
			   __entry->peer2peer = peer2peer;
			   __entry->ret = ret;),
	    TP_printk("buffer=%llu importer=%s peer2peer=%d ret=%d",
		      __entry->id, __get_str(importer), __entry->peer2peer,
		      __entry->ret)
);

TRACE_EVENT(p2pbar_map,
	    TP_PROTO(u64 id, struct device *importer, u32 placement, int p2p,
		     int ret),
	    TP_ARGS(id, importer, placement, p2p, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __string(importer, dev_name(importer))
			     __field(u32, placement)
			     __field(int, p2p)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   P2PBAR_ASSIGN_STR(importer, dev_name(importer));
			   __entry->placement = placement;
			   __entry->p2p = p2p;
			   __entry->ret = ret;),
	    TP_printk("buffer=%llu importer=%s placement=%s p2p=%s ret=%d",
		      __entry->id, __get_str(importer),
		      __entry->placement ? "host" : "device",
		      __print_symbolic(__entry->p2p, { 0, "none" },
				       { 1, "bus-address" },
				       { 2, "host-bridge" }),
		      __entry->ret)
);

TRACE_EVENT(p2pbar_pin,
	    TP_PROTO(u64 id, unsigned int pin_count),
	    TP_ARGS(id, pin_count),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(unsigned int, pin_count)),
	    TP_fast_assign(__entry->id = id;
			   __entry->pin_count = pin_count;),
	    TP_printk("buffer=%llu pin_count=%u", __entry->id,
		      __entry->pin_count)
);

TRACE_EVENT(p2pbar_move,
	    TP_PROTO(u64 id, u32 to, u64 size, bool eviction, int ret),
	    TP_ARGS(id, to, size, eviction, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, to)
			     __field(u64, size)
			     __field(bool, eviction)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->to = to;
			   __entry->size = size;
			   __entry->eviction = eviction;
			   __entry->ret = ret;),
	    TP_printk("buffer=%llu to=%s size=%llu eviction=%d ret=%d",
		      __entry->id, __entry->to ? "host" : "device",
		      __entry->size, __entry->eviction, __entry->ret)
);

TRACE_EVENT(p2pbar_revoke,
	    TP_PROTO(u64 id),
	    TP_ARGS(id),
	    TP_STRUCT__entry(__field(u64, id)),
	    TP_fast_assign(__entry->id = id;),
	    TP_printk("buffer=%llu", __entry->id)
);

#endif /* _P2PBAR_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE p2pbar_trace
#include <trace/define_trace.h>
